"""A TF1 Estimator tutorial on MNIST, run on graphflow by changing only the import lines.

A model_fn with tf.layers.dense, sparse softmax cross-entropy, Adam and tf.metrics.accuracy;
numpy_input_fn feeds the arrays; train, evaluate, print the result. (MNIST_DIR: a folder of MNIST
IDX files; STEPS: override the number of training steps, as the tests do; MODEL_DIR: where the
checkpoints go, a temporary folder if unset.)
"""

import os

import numpy as np

import graphflow as tf
from graphflow.examples.tutorials.mnist import input_data

tf.logging.set_verbosity(tf.logging.INFO)
mnist = input_data.read_data_sets(os.environ.get("MNIST_DIR", "/tmp/tf1_data/"), one_hot=False)
num_steps = int(os.environ.get("STEPS", 2000))


def model_fn(features, labels, mode, params):
    hidden = tf.layers.dense(features["images"], params["hidden"], activation=tf.nn.relu)
    logits = tf.layers.dense(hidden, 10)
    classes = tf.argmax(logits, axis=1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={
            "classes": classes, "probabilities": tf.nn.softmax(logits)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    optimizer = tf.train.AdamOptimizer(learning_rate=params["learning_rate"])
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    eval_metric_ops = {"accuracy": tf.metrics.accuracy(labels=labels, predictions=classes)}
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      eval_metric_ops=eval_metric_ops)


config = tf.estimator.RunConfig(model_dir=os.environ.get("MODEL_DIR"), tf_random_seed=1,
                                save_checkpoints_steps=max(1, num_steps // 2))
classifier = tf.estimator.Estimator(model_fn, config=config,
                                    params={"hidden": 128, "learning_rate": 0.001})

train_input_fn = tf.estimator.inputs.numpy_input_fn(
    x={"images": mnist.train.images}, y=mnist.train.labels.astype(np.int32),
    batch_size=100, num_epochs=None, shuffle=True)
classifier.train(input_fn=train_input_fn, steps=num_steps)

eval_input_fn = tf.estimator.inputs.numpy_input_fn(
    x={"images": mnist.test.images}, y=mnist.test.labels.astype(np.int32),
    num_epochs=1, shuffle=False)
eval_result = classifier.evaluate(input_fn=eval_input_fn)
print("Evaluation result:", eval_result)
print("Test accuracy: {accuracy:0.3f}".format(**eval_result))
