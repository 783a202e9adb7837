# Corpus program: the seed program of fastnn's issue (the Iris MLP as a user wrote it with
# Keras), with its Keras imports unchanged; data: Iris from fastnn's shipped CSV, one-hot
# with keras.utils.to_categorical; 20 epochs.
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.utils import to_categorical

import _corpus_data

x, species = _corpus_data.iris()
names = sorted(set(species))
y = to_categorical([names.index(s) for s in species])
order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]

model = Sequential()
model.add(Dense(32, input_shape=(4,), activation='relu'))
model.add(Dense(32, activation='relu'))
model.add(Dense(32, activation='relu'))
model.add(Dense(3, activation='softmax')) #final layer.
model.summary()
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
history = model.fit(x, y, batch_size=16, epochs=20, validation_split=0.2, verbose=2)
print(sorted(history.history))
print(model.evaluate(x, y, verbose=0))
