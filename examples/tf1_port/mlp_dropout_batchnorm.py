"""A TensorFlow 1 MLP with dropout, batch normalization (UPDATE_OPS) and an exponentially decaying
learning rate on a global step, run on graphflow by changing only the import line. Reaches
>= 98% test accuracy on MNIST. (MNIST_DIR: a folder of MNIST IDX files; STEPS: override the
number of training steps, as the tests do.)
"""

import os

import numpy as np

import graphflow as tf
from graphflow.datasets.mnist import read_data_sets

mnist = read_data_sets(os.environ.get("MNIST_DIR"), one_hot=True)

num_steps = int(os.environ.get("STEPS", 6000))
batch_size = 100

tf.set_random_seed(0)
x = tf.placeholder(tf.float32, [None, 784], name="x")
y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
keep_prob = tf.placeholder(tf.float32, name="keep_prob")
training = tf.placeholder(tf.bool, name="training")


def layer(inputs, units, name):
    h = tf.layers.dense(inputs, units, use_bias=False, name=name)
    h = tf.layers.batch_normalization(h, training=training, name=name + "_bn")
    return tf.nn.dropout(tf.nn.relu(h), keep_prob)


h1 = layer(x, 800, "fc1")
h2 = layer(h1, 800, "fc2")
logits = tf.layers.dense(h2, 10, name="logits")

cross_entropy = tf.reduce_mean(
    tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))

global_step = tf.train.get_or_create_global_step()
learning_rate = tf.train.exponential_decay(0.002, global_step, decay_steps=550,
                                           decay_rate=0.8, staircase=True)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy,
                                                                global_step=global_step)

correct_prediction = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
accuracy = tf.reduce_mean(tf.cast(correct_prediction, "float"))

sess = tf.InteractiveSession()
tf.global_variables_initializer().run()
for i in range(num_steps):
    batch_xs, batch_ys = mnist.train.next_batch(batch_size)
    train_step.run(feed_dict={x: batch_xs, y_: batch_ys, keep_prob: 0.8, training: True})
    if i % 550 == 0:
        print(f"step {i}, lr {learning_rate.eval():.5f}, validation accuracy "
              f"{accuracy.eval(feed_dict={x: mnist.validation.images, y_: mnist.validation.labels, keep_prob: 1.0, training: False}):.4f}")  # noqa: E501

test_acc = np.mean([accuracy.eval(feed_dict={x: mnist.test.images[k:k + 2000],
                                             y_: mnist.test.labels[k:k + 2000],
                                             keep_prob: 1.0, training: False})
                    for k in range(0, mnist.test.num_examples, 2000)])
print(f"test accuracy {test_acc:.4f}")
sess.close()
