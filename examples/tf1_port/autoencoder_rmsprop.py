"""A TensorFlow 1 autoencoder (784-256-128-256-784, sigmoid units) trained with RMSProp, run on
graphflow by changing only the import line. (MNIST_DIR: a folder of MNIST IDX files; STEPS:
override the number of training steps, as the tests do.)
"""

import os

import graphflow as tf
from graphflow.datasets.mnist import read_data_sets

mnist = read_data_sets(os.environ.get("MNIST_DIR"), one_hot=True)

learning_rate = 0.01
num_steps = int(os.environ.get("STEPS", 3000))
batch_size = 256
display_step = max(1, num_steps // 10)

num_hidden_1 = 256
num_hidden_2 = 128
num_input = 784

tf.set_random_seed(2)
X = tf.placeholder("float", [None, num_input])

weights = {
    "encoder_h1": tf.Variable(tf.random_normal([num_input, num_hidden_1], stddev=0.1)),
    "encoder_h2": tf.Variable(tf.random_normal([num_hidden_1, num_hidden_2], stddev=0.1)),
    "decoder_h1": tf.Variable(tf.random_normal([num_hidden_2, num_hidden_1], stddev=0.1)),
    "decoder_h2": tf.Variable(tf.random_normal([num_hidden_1, num_input], stddev=0.1)),
}
biases = {
    "encoder_b1": tf.Variable(tf.random_normal([num_hidden_1], stddev=0.1)),
    "encoder_b2": tf.Variable(tf.random_normal([num_hidden_2], stddev=0.1)),
    "decoder_b1": tf.Variable(tf.random_normal([num_hidden_1], stddev=0.1)),
    "decoder_b2": tf.Variable(tf.random_normal([num_input], stddev=0.1)),
}


def encoder(x):
    layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights["encoder_h1"]), biases["encoder_b1"]))
    return tf.nn.sigmoid(tf.add(tf.matmul(layer_1, weights["encoder_h2"]), biases["encoder_b2"]))


def decoder(x):
    layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights["decoder_h1"]), biases["decoder_b1"]))
    return tf.nn.sigmoid(tf.add(tf.matmul(layer_1, weights["decoder_h2"]), biases["decoder_b2"]))


y_pred = decoder(encoder(X))
y_true = X
loss = tf.reduce_mean(tf.pow(y_true - y_pred, 2))
optimizer = tf.train.RMSPropOptimizer(learning_rate).minimize(loss)

init = tf.global_variables_initializer()
with tf.Session() as sess:
    sess.run(init)
    first = None
    for i in range(1, num_steps + 1):
        batch_x, _ = mnist.train.next_batch(batch_size)
        _, value = sess.run([optimizer, loss], feed_dict={X: batch_x})
        first = value if first is None else first
        if i % display_step == 0 or i == 1:
            print(f"Step {i}: Minibatch Loss: {value:.6f}")
    test_loss = sess.run(loss, feed_dict={X: mnist.test.images})
    print(f"test reconstruction loss {test_loss:.6f} (first minibatch {first:.6f})")
