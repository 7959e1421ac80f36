// scikit-learn's bundled tabular data sets, read from the CSV files Debian's python3-sklearn
// installs (no Python at run time): float32 inputs [N, F], int64 class ids [N], in file order.
#pragma once
#include "ouro/data/dataset.h"

namespace ouro {

Dataset load_iris();           // 150 x 4, classes 0..2 (setosa, versicolor, virginica), 50 each
Dataset load_wine();           // 178 x 13, classes 0..2 (59, 71, 48)
Dataset load_breast_cancer();  // 569 x 30, 0 = malignant (212), 1 = benign (357)
Dataset load_digits();         // 1797 x 64 pixel intensities 0..16 (8 x 8 images), classes 0..9

}  // namespace ouro
