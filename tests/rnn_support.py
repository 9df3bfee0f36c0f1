"""What the RNN tests share: the two executors each case runs on, and setting weights."""

import graphflow as gf


def sessions():
    """The reference interpreter and the generated numpy code."""
    return [gf.Session(optimize=False), gf.Session(check=True)]


def set_weights(sess, weights):
    """Initialize the graph's variables, then give the trainable ones `weights`, in order."""
    sess.run(gf.global_variables_initializer())
    for variable, value in zip(gf.trainable_variables(), weights):
        sess.run(gf.assign(variable, value))
