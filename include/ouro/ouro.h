// The user-facing API in one include.
#pragma once
#include "ouro/autograd/engine.h"
#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/unary.h"
#include "ouro/tensor/allocator.h"
#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"
#include "ouro/ops/linalg.h"
#include "ouro/ops/reduce.h"
#include "ouro/ops/shape_ops.h"
