"""TensorFlow 1's basic word2vec tutorial (skip-gram with NCE loss), run on graphflow by changing
only the import.

The text is never downloaded: TEXT_FILE names a plain text file to read (words split on
whitespace); without it a small synthetic corpus is generated (seeded, so every run sees the same
text) from sentence templates whose slots are filled from word groups (colours, animals, verbs,
numbers, foods, places), so that words of one group share their contexts and should end up with
close embeddings. STEPS overrides the number of training steps. The tutorial's TensorBoard parts
(summaries, run metadata, the checkpoint and the projector config) and its t-SNE/matplotlib plot
are left out; the final normalized embeddings are kept in `final_embeddings`.
"""

import collections
import math
import os
import random

import numpy as np

import graphflow as tf

GROUPS = {
    "colour": "red green blue yellow black white brown grey".split(),
    "animal": "cat dog horse cow sheep goat mouse bird".split(),
    "verb": "eats likes sees wants finds buys needs smells".split(),
    "number": "two three four five six seven eight nine".split(),
    "food": "apples bread cheese rice carrots beans nuts plums".split(),
    "place": "garden kitchen market forest field barn river village".split(),
}
TEMPLATES = [
    "the colour animal verb number food in the place",
    "a colour animal verb number food near the place",
    "number colour animal verb food and food",
]


def synthetic_corpus(num_sentences=4000, seed=0):
    """Words of sentences drawn from TEMPLATES, each group slot filled uniformly from GROUPS."""
    rng = np.random.RandomState(seed)
    words = []
    for _ in range(num_sentences):
        for slot in TEMPLATES[rng.randint(len(TEMPLATES))].split():
            words.append(GROUPS[slot][rng.randint(8)] if slot in GROUPS else slot)
    return words


# Step 1: read the text (a file named by TEXT_FILE, else the synthetic corpus).
def read_data(filename):
    """The words of a text file, split on whitespace."""
    with open(filename, encoding="utf-8") as f:
        return f.read().split()


text_file = os.environ.get("TEXT_FILE")
vocabulary = read_data(text_file) if text_file else synthetic_corpus()
print("Data size", len(vocabulary))

# Step 2: build the dictionary and replace rare words with the UNK token.
vocabulary_size = min(50000, len(set(vocabulary)) + 1)  # the tutorial's 50000, or all words


def build_dataset(words, n_words):
    """Codes of the words (0 = UNK), counts, and the word <-> code maps, most common first."""
    count = [["UNK", -1]]
    count.extend(collections.Counter(words).most_common(n_words - 1))
    dictionary = {word: code for code, (word, _) in enumerate(count)}
    data = [dictionary.get(word, 0) for word in words]
    count[0][1] = data.count(0)
    reversed_dictionary = dict(zip(dictionary.values(), dictionary.keys()))
    return data, count, dictionary, reversed_dictionary


data, count, dictionary, reverse_dictionary = build_dataset(vocabulary, vocabulary_size)
del vocabulary  # hint to reduce memory, as in the tutorial
print("Most common words (+UNK)", count[:5])
print("Sample data", data[:10], [reverse_dictionary[i] for i in data[:10]])

data_index = 0


# Step 3: a training batch for the skip-gram model.
def generate_batch(batch_size, num_skips, skip_window):
    """batch_size // num_skips centre words, each paired with num_skips distinct words of its
    window of skip_window words either side; consecutive calls walk on through `data`."""
    global data_index
    assert batch_size % num_skips == 0
    assert num_skips <= 2 * skip_window
    batch = np.ndarray(shape=(batch_size), dtype=np.int32)
    labels = np.ndarray(shape=(batch_size, 1), dtype=np.int32)
    span = 2 * skip_window + 1  # [ skip_window words, the centre, skip_window words ]
    window = collections.deque(maxlen=span)
    if data_index + span > len(data):
        data_index = 0
    window.extend(data[data_index:data_index + span])
    data_index += span
    for i in range(batch_size // num_skips):
        context = [w for w in range(span) if w != skip_window]
        for j, position in enumerate(random.sample(context, num_skips)):
            batch[i * num_skips + j] = window[skip_window]
            labels[i * num_skips + j, 0] = window[position]
        if data_index == len(data):
            window.extend(data[0:span])
            data_index = span
        else:
            window.append(data[data_index])
            data_index += 1
    # step back so the next batch starts right after this one's last centre word
    data_index = (data_index + len(data) - span) % len(data)
    return batch, labels


random.seed(0)
batch, labels = generate_batch(batch_size=8, num_skips=2, skip_window=1)
for i in range(8):
    print(batch[i], reverse_dictionary[batch[i]], "->", labels[i, 0],
          reverse_dictionary[labels[i, 0]])

# Step 4: build a skip-gram model.
batch_size = 128
embedding_size = 128  # dimension of the embedding vector
skip_window = 1  # how many words to consider left and right
num_skips = 2  # how many times to reuse an input to generate a label
num_sampled = min(64, vocabulary_size // 2)  # negative examples to sample

# A few of the most frequent words whose nearest neighbours are printed (display only).
valid_size = min(16, vocabulary_size)
valid_window = min(100, vocabulary_size)
np.random.seed(0)
valid_examples = np.random.choice(valid_window, valid_size, replace=False)

graph = tf.Graph()

with graph.as_default():
    tf.set_random_seed(1)

    with tf.name_scope("inputs"):
        train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
        train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
        valid_dataset = tf.constant(valid_examples, dtype=tf.int32)

    with tf.device("/cpu:0"):
        with tf.name_scope("embeddings"):
            embeddings = tf.Variable(
                tf.random_uniform([vocabulary_size, embedding_size], -1.0, 1.0))
            embed = tf.nn.embedding_lookup(embeddings, train_inputs)

        with tf.name_scope("weights"):
            nce_weights = tf.Variable(
                tf.truncated_normal([vocabulary_size, embedding_size],
                                    stddev=1.0 / math.sqrt(embedding_size)))
        with tf.name_scope("biases"):
            nce_biases = tf.Variable(tf.zeros([vocabulary_size]))

    # nce_loss draws a new sample of negative labels each time the loss is evaluated.
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(
            tf.nn.nce_loss(weights=nce_weights,
                           biases=nce_biases,
                           labels=train_labels,
                           inputs=embed,
                           num_sampled=num_sampled,
                           num_classes=vocabulary_size))

    with tf.name_scope("optimizer"):
        optimizer = tf.train.GradientDescentOptimizer(1.0).minimize(loss)

    # Cosine similarity between the validation words and all embeddings.
    norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
    normalized_embeddings = embeddings / norm
    valid_embeddings = tf.nn.embedding_lookup(normalized_embeddings, valid_dataset)
    similarity = tf.matmul(valid_embeddings, normalized_embeddings, transpose_b=True)

    init = tf.global_variables_initializer()

# Step 5: train (the tutorial's 100001 steps, reporting every 2000 and 10000, scaled down).
num_steps = int(os.environ.get("STEPS", 10001))
loss_every = max(1, (num_steps - 1) // 10)
nearest_every = 5 * loss_every

with tf.Session(graph=graph) as session:
    init.run()
    print("Initialized")

    average_loss = 0
    for step in range(num_steps):
        batch_inputs, batch_labels = generate_batch(batch_size, num_skips, skip_window)
        feed_dict = {train_inputs: batch_inputs, train_labels: batch_labels}
        _, loss_val = session.run([optimizer, loss], feed_dict=feed_dict)
        average_loss += loss_val

        if step % loss_every == 0:
            if step > 0:
                average_loss /= loss_every
            # the average loss over the last loss_every batches
            print("Average loss at step ", step, ": ", average_loss)
            average_loss = 0

        if step % nearest_every == 0:
            sim = similarity.eval()
            for i in range(valid_size):
                valid_word = reverse_dictionary[valid_examples[i]]
                top_k = min(8, vocabulary_size - 1)  # number of nearest neighbours
                nearest = (-sim[i, :]).argsort()[1:top_k + 1]
                log_str = "Nearest to %s:" % valid_word
                print(log_str, ", ".join(reverse_dictionary[nearest[k]] for k in range(top_k)))
    final_embeddings = normalized_embeddings.eval()
