"""tf.data.experimental: the names TF1 programs use from it."""

AUTOTUNE = -1  # num_parallel_calls / prefetch buffer: graphflow's host pipeline runs in order
