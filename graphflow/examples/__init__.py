"""TF1's `tensorflow.examples` import path, for the parts of it graphflow provides."""
