"""A classic TensorFlow 1 tutorial MLP, run on graphflow by changing only the import line.

Two hidden layers, weights in a dict of tf.Variable(tf.random_normal(...)), softmax
cross-entropy, Adam, accuracy.eval(). (MNIST_DIR: a folder of MNIST IDX files; STEPS: override
the number of training steps, as the tests do.)
"""

import os

import graphflow as tf
from graphflow.datasets.mnist import read_data_sets

mnist = read_data_sets(os.environ.get("MNIST_DIR"), one_hot=True)

learning_rate = 0.001
num_steps = int(os.environ.get("STEPS", 3000))
batch_size = 128
display_step = max(1, num_steps // 10)

n_hidden_1 = 256
n_hidden_2 = 256
num_input = 784
num_classes = 10

tf.set_random_seed(1)
X = tf.placeholder("float", [None, num_input])
Y = tf.placeholder("float", [None, num_classes])

weights = {
    "h1": tf.Variable(tf.random_normal([num_input, n_hidden_1], stddev=0.05)),
    "h2": tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2], stddev=0.05)),
    "out": tf.Variable(tf.random_normal([n_hidden_2, num_classes], stddev=0.05)),
}
biases = {
    "b1": tf.Variable(tf.zeros([n_hidden_1])),
    "b2": tf.Variable(tf.zeros([n_hidden_2])),
    "out": tf.Variable(tf.zeros([num_classes])),
}


def neural_net(x):
    layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights["h1"]), biases["b1"]))
    layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights["h2"]), biases["b2"]))
    return tf.matmul(layer_2, weights["out"]) + biases["out"]


logits = neural_net(X)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=logits, labels=Y))
optimizer = tf.train.AdamOptimizer(learning_rate=learning_rate)
train_op = optimizer.minimize(loss_op)

correct_pred = tf.equal(tf.argmax(logits, 1), tf.argmax(Y, 1))
accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

init = tf.global_variables_initializer()

with tf.Session() as sess:
    sess.run(init)
    for step in range(1, num_steps + 1):
        batch_x, batch_y = mnist.train.next_batch(batch_size)
        sess.run(train_op, feed_dict={X: batch_x, Y: batch_y})
        if step % display_step == 0 or step == 1:
            loss, acc = sess.run([loss_op, accuracy], feed_dict={X: batch_x, Y: batch_y})
            print(f"Step {step}, Minibatch Loss= {loss:.4f}, Training Accuracy= {acc:.3f}")
    print("Optimization Finished!")
    test_accuracy = accuracy.eval({X: mnist.test.images, Y: mnist.test.labels})
    print("Testing Accuracy:", test_accuracy)
