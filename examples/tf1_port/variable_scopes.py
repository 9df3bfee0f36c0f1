"""A tiny TensorFlow 1 GAN written with variable scopes, run on graphflow by changing only the
import line.

The generator is built from tf.get_variable; the discriminator (tf.layers.dense) is applied to
real and to generated samples under tf.variable_scope("discriminator", reuse=...), so both
calls share one set of weights; each player trains its own scope's variables. The real data are
1-D samples of N(3, 0.5). (STEPS: override the number of training steps, as the tests do.)
"""

import os

import numpy as np

import graphflow as tf

num_steps = int(os.environ.get("STEPS", 300))
batch_size = 64
noise_dim = 4
hidden = 16

tf.set_random_seed(3)
real = tf.placeholder(tf.float32, [None, 1], name="real")
noise = tf.placeholder(tf.float32, [None, noise_dim], name="noise")


def linear(x, units, scope):
    """A fully connected layer made by hand with tf.get_variable."""
    with tf.variable_scope(scope):
        w = tf.get_variable("w", [x.get_shape().as_list()[-1], units],
                            initializer=tf.random_normal_initializer(stddev=0.1))
        b = tf.get_variable("b", [units], initializer=tf.zeros_initializer())
        return tf.matmul(x, w) + b


def generator(z):
    with tf.variable_scope("generator"):
        h = tf.nn.relu(linear(z, hidden, "hidden"))
        return linear(h, 1, "out")


def discriminator(x, reuse=False):
    with tf.variable_scope("discriminator", reuse=reuse):
        h = tf.layers.dense(x, hidden, activation=tf.nn.relu, name="hidden")
        return tf.layers.dense(h, 1, name="logit")


fake = generator(noise)
d_real = discriminator(real)
d_fake = discriminator(fake, reuse=True)  # the same weights, on the generated samples

d_loss = tf.reduce_mean(
    tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(d_real), logits=d_real)
    + tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(d_fake), logits=d_fake))
g_loss = tf.reduce_mean(
    tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(d_fake), logits=d_fake))

d_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="discriminator")
g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="generator")
d_train = tf.train.AdamOptimizer(1e-2).minimize(d_loss, var_list=d_vars)
g_train = tf.train.AdamOptimizer(1e-2).minimize(g_loss, var_list=g_vars)

print("discriminator variables:", [v.name for v in d_vars])
print("generator variables:", [v.name for v in g_vars])

rng = np.random.RandomState(0)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, num_steps + 1):
        feed = {real: rng.normal(3.0, 0.5, (batch_size, 1)).astype(np.float32),
                noise: rng.uniform(-1.0, 1.0, (batch_size, noise_dim)).astype(np.float32)}
        dl, _ = sess.run([d_loss, d_train], feed_dict=feed)
        gl, _ = sess.run([g_loss, g_train], feed_dict=feed)
        if step % max(1, num_steps // 5) == 0:
            print("step %d: d_loss %.4f, g_loss %.4f" % (step, dl, gl))
    samples = sess.run(fake, {noise: rng.uniform(-1.0, 1.0, (1000, noise_dim))})
    print("generated mean %.3f (real data: 3.0)" % samples.mean())
