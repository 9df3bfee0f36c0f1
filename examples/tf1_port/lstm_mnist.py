"""A classic TensorFlow 1 tutorial LSTM on MNIST, run on graphflow by changing only the import.

Each image is read as a sequence of 28 rows of 28 pixels: tf.unstack gives the 28 time steps,
tf.contrib.rnn.static_rnn unrolls a BasicLSTMCell over them, a dense layer on the last output
gives the logits; softmax cross-entropy, Adam, test accuracy at the end. (MNIST_DIR: a folder of
MNIST IDX files, else the cached MNIST; STEPS: override the number of training steps, as the
tests do.)
"""

import os

import graphflow as tf
from graphflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets(os.environ.get("MNIST_DIR", "/tmp/tf1_data/"), one_hot=True)

learning_rate = 0.002
training_steps = int(os.environ.get("STEPS", 2000))
batch_size = 128
display_step = max(1, training_steps // 10)

num_input = 28  # pixels per row
timesteps = 28  # rows
num_hidden = 128
num_classes = 10

tf.set_random_seed(1)
X = tf.placeholder(tf.float32, [None, timesteps * num_input])
Y = tf.placeholder(tf.float32, [None, num_classes])


def lstm_net(images):
    x = tf.unstack(tf.reshape(images, [-1, timesteps, num_input]), timesteps, 1)
    cell = tf.contrib.rnn.BasicLSTMCell(num_hidden, forget_bias=1.0)
    outputs, _ = tf.contrib.rnn.static_rnn(cell, x, dtype=tf.float32)
    return tf.layers.dense(outputs[-1], num_classes)


logits = lstm_net(X)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=logits, labels=Y))
train_op = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(loss_op)

correct_pred = tf.equal(tf.argmax(logits, 1), tf.argmax(Y, 1))
accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

init = tf.global_variables_initializer()

with tf.Session() as sess:
    sess.run(init)
    for step in range(1, training_steps + 1):
        batch_x, batch_y = mnist.train.next_batch(batch_size)
        sess.run(train_op, feed_dict={X: batch_x, Y: batch_y})
        if step % display_step == 0 or step == 1:
            loss, acc = sess.run([loss_op, accuracy], feed_dict={X: batch_x, Y: batch_y})
            print(f"Step {step}, Minibatch Loss= {loss:.4f}, Training Accuracy= {acc:.3f}")
    print("Optimization Finished!")
    test_accuracy = sess.run(accuracy, feed_dict={X: mnist.test.images, Y: mnist.test.labels})
    print("Testing Accuracy:", test_accuracy)
