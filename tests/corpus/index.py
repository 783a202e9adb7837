"""The corpus: public Keras programs run unchanged through `python -m fastnn.keras`.

One row per program: its file, the public program it follows, and either None (it must
run to completion on fastnn) or the reason it cannot yet (an expected failure, strict:
the test fails when the program starts to pass, so the row is updated as features land).
`docs/corpus.md` is generated from this table (`python tools/corpus.py`).
"""
PROGRAMS = [
    # (file, source, reason it is expected to fail on fastnn now or None)
    ("kio_mnist_convnet.py", "https://keras.io/examples/vision/mnist_convnet/", None),
    ("kio_functional_api_mnist.py", "https://keras.io/guides/functional_api/", None),
    ("kio_custom_callbacks.py", "https://keras.io/guides/writing_your_own_callbacks/", None),
    ("dlwp_ch2_mnist_dense.py", "https://github.com/fchollet/deep-learning-with-python-"
     "notebooks/blob/master/chapter02_mathematical-building-blocks.ipynb", None),
    ("dlwp_ch4_imdb.py", "https://github.com/fchollet/deep-learning-with-python-notebooks/"
     "blob/master/chapter04_getting-started-with-neural-networks.ipynb", None),
    ("dlwp_ch4_reuters.py", "https://github.com/fchollet/deep-learning-with-python-notebooks/"
     "blob/master/chapter04_getting-started-with-neural-networks.ipynb", None),
    ("dlwp_ch4_boston_kfold.py", "https://github.com/fchollet/deep-learning-with-python-"
     "notebooks/blob/master/chapter04_getting-started-with-neural-networks.ipynb", None),
    ("tf_cnn_cifar10.py", "https://www.tensorflow.org/tutorials/images/cnn", None),
    ("iris_mlp_seed.py", "fastnn's seed program (the issue's Iris MLP)", None),
    ("tf_basic_classification.py", "https://www.tensorflow.org/tutorials/keras/classification",
     None),
    ("kio_sequential_model.py", "https://keras.io/guides/sequential_model/", None),
    ("kio_training_builtin.py", "https://keras.io/guides/training_with_built_in_methods/", None),
    ("tf_save_and_load.py", "https://www.tensorflow.org/tutorials/keras/save_and_load", None),
    ("kio_lr_schedule.py", "https://keras.io/guides/training_with_built_in_methods/", None),
    ("kio_custom_layer_linear.py",
     "https://keras.io/guides/making_new_layers_and_models_via_subclassing/", None),
    ("kio_custom_train_step.py", "https://keras.io/guides/custom_train_step_in_tensorflow/", None),
    ("kio_bidirectional_lstm_imdb.py", "https://keras.io/examples/nlp/bidirectional_lstm_imdb/",
     None),
    ("kio_functional_multi_io.py", "https://keras.io/guides/functional_api/", None),
    ("dlwp_ch5_imdb_regularization.py", "https://github.com/fchollet/deep-learning-with-"
     "python-notebooks/blob/master/chapter05_fundamentals-of-ml.ipynb", None),
    ("dlwp_ch7_callbacks.py", "https://github.com/fchollet/deep-learning-with-python-"
     "notebooks/blob/master/chapter07_working-with-keras.ipynb", None),
    ("kio_timeseries_classification.py",
     "https://keras.io/examples/timeseries/timeseries_classification_from_scratch/", None),
    ("kio_rnn_cells_api.py", "https://keras.io/api/layers/recurrent_layers/rnn/", None),
    ("kio_image_classification_scratch.py",
     "https://keras.io/examples/vision/image_classification_from_scratch/", None),
    ("kio_working_with_rnns.py", "https://keras.io/guides/working_with_rnns/", None),
    ("kio_pydataset_generator.py", "https://keras.io/guides/training_with_built_in_methods/",
     None),
    ("kio_training_builtin_custom.py",
     "https://keras.io/guides/training_with_built_in_methods/", None),
    ("dlwp_ch7_custom_metric_model.py", "https://github.com/fchollet/deep-learning-with-"
     "python-notebooks/blob/master/chapter07_working-with-keras.ipynb", None),
    ("kio_vae_subclassing.py",
     "https://keras.io/guides/making_new_layers_and_models_via_subclassing/", None),
    ("kio_gan_dataset.py", "https://keras.io/guides/custom_train_step_in_tensorflow/", None),
    ("tf_quickstart_beginner.py", "https://www.tensorflow.org/tutorials/quickstart/beginner",
     None),
    ("kio_addition_rnn.py", "https://keras.io/examples/nlp/addition_rnn/", None),
    ("kio_text_classification_transformer.py",
     "https://keras.io/examples/nlp/text_classification_with_transformer/", None),
    ("kio_masking_padding.py", "https://keras.io/guides/understanding_masking_and_padding/",
     None),
    ("kio_lstm_text_generation.py",
     "https://keras.io/examples/generative/lstm_character_level_text_generation/", None),
    ("kio_pretrained_word_embeddings.py",
     "https://keras.io/examples/nlp/pretrained_word_embeddings/", None),
    ("kio_lstm_seq2seq.py", "https://keras.io/examples/nlp/lstm_seq2seq/", None),
    ("kio_text_classification_scratch.py",
     "https://keras.io/examples/nlp/text_classification_from_scratch/", None),
    ("kio_custom_training_loop.py",
     "https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/", None),
    ("kio_denoising_autoencoder.py", "https://keras.io/examples/vision/autoencoder/", None),
    ("kio_serialization_and_saving.py", "https://keras.io/guides/serialization_and_saving/",
     None),
]

# Programs whose outcome under fastnn cannot show the gap (they exit 0): not strict.
NOT_STRICT = set()

# Programs that pass on fastnn but whose outcome (exit code and last line the program
# printed itself, numbers masked) differs from real Keras 3.15's, and why.  The opt-in
# comparison (FASTNN_TEST_KERAS_CORPUS=1) treats these as strict expected failures.
KERAS_OUTCOME_DIFFERS = {
    "kio_sequential_model.py":
        "it prints the shapes of a model call's outputs: Keras on TensorFlow returns "
        "tf.Tensor objects (`TensorShape([1, 123, 123, 32])`), fastnn NumPy arrays "
        "(`(1, 123, 123, 32)`)",
    "dlwp_ch7_callbacks.py":
        "a callback prints at the end of each epoch; Keras 3 writes every progress-bar "
        "redraw to a pipe too, so that print lands glued to a bar line, while fastnn "
        "writes only each bar's final line to a pipe",
}
