// Fuzzes the MNIST digit-file reader ({"data": [pixels...]}, a hand scanner rather than a JSON
// library): any bytes load as whole 28 x 28 images of values in [0, 1] or throw ouro::Error.
#include "fuzz_input.h"
#include "ouro/data/mnist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  fuzz::expect_error_or_success([&] {
    const std::vector<float> pixels = parse_mnist_digit_json(fuzz::as_text(data, size), "fuzz.json");
    if (pixels.size() % 784 != 0) fuzz::property_failed("not a whole number of images");
    for (float p : pixels)
      if (!(p >= 0 && p <= 1)) fuzz::property_failed("a pixel outside [0, 1]");
  });
  return 0;
}
