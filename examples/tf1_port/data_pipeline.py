"""A TensorFlow 1 tf.data input pipeline feeding a training step, run on graphflow by changing
only the import.

The training step reads its batches from a reinitializable iterator (TF1's "one iterator, two
datasets" pattern): the training set is shuffled, mapped (reshape, label cast), repeated and
batched on the host; the test set is read once, in batches, until tf.errors.OutOfRangeError.
No feed_dict: each sess.run takes the next batch. (MNIST_DIR: a folder of MNIST IDX files, else
the cached MNIST; STEPS: override the number of training steps, as the tests do.)
"""

import os

import graphflow as tf
from graphflow.examples.tutorials.mnist import input_data

mnist = input_data.read_data_sets(os.environ.get("MNIST_DIR", "/tmp/tf1_data/"), one_hot=False)

learning_rate = 0.001
num_steps = int(os.environ.get("STEPS", 3000))
batch_size = 128
display_step = max(1, num_steps // 10)

tf.set_random_seed(1)


def preprocess(image, label):
    return tf.reshape(image, [28, 28]), tf.cast(label, tf.int32)


train_data = (tf.data.Dataset.from_tensor_slices((mnist.train.images, mnist.train.labels))
              .shuffle(buffer_size=10000)
              .map(preprocess, num_parallel_calls=tf.data.experimental.AUTOTUNE)
              .repeat()
              .batch(batch_size)
              .prefetch(1))
test_data = (tf.data.Dataset.from_tensor_slices((mnist.test.images, mnist.test.labels))
             .map(preprocess)
             .batch(1000))

iterator = tf.data.Iterator.from_structure(train_data.output_types, train_data.output_shapes)
images, labels = iterator.get_next()
training_init_op = iterator.make_initializer(train_data)
test_init_op = iterator.make_initializer(test_data)

flat = tf.reshape(images, [-1, 784])
hidden = tf.layers.dense(flat, 256, activation=tf.nn.relu, name="hidden")
logits = tf.layers.dense(hidden, 10, name="logits")
loss_op = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                       logits=logits))
train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss_op)
correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels),
                                tf.float32))
batch_count = tf.shape(labels)[0]

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(training_init_op)
    for step in range(1, num_steps + 1):
        _, loss = sess.run([train_op, loss_op])
        if step % display_step == 0 or step == 1:
            print("Step " + str(step) + ", Minibatch Loss= " + "{:.4f}".format(loss))
    print("Optimization Finished!")

    sess.run(test_init_op)
    right, seen = 0.0, 0
    while True:
        try:
            batch_right, batch_seen = sess.run([correct, batch_count])
        except tf.errors.OutOfRangeError:
            break
        right += batch_right
        seen += batch_seen
    test_accuracy = right / seen
    print("Testing Accuracy:", test_accuracy, "on", seen, "images")
