"""TF1's `tensorflow.examples.tutorials.mnist` import path: its `input_data` module, so that

    from graphflow.examples.tutorials.mnist import input_data

works where a TF1 tutorial has `from tensorflow.examples.tutorials.mnist import input_data`.
The tutorials' model helper (`mnist.py`: inference/loss/training) is not shipped: it is tutorial
code, not library API; keep it next to the script that imports it.
"""
