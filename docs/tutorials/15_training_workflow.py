"""Tutorial 15: the whole training workflow, step by step, with nn, fit() and save/load.

Tutorials 2 and 3 trained with bare tensors. This one runs the course's nine steps on the
handwritten digits with the package's building blocks:
  1. model structure      nn.Sequential of Linear and ReLU layers
  2. initialisation       small random weights (Kaiming for ReLU); why not all equal
  3. loss                 cross-entropy; a sanity check of its starting value
  4. optimiser            Adam, learning rate, batch size, epochs
  5. data                 7:2:1 stratified split; standardise with training statistics
  6. training loop        forward -> loss -> backward -> update -> zero grads, written out once
                          by hand and checked against fit(), which runs the same loop
  7. validation           per-epoch validation loss/accuracy; early stopping
  8. test once            accuracy, confusion matrix, per-class report
  9. use the model        save, load into a fresh model, predict

Run:  python docs/tutorials/15_training_workflow.py      (TINYGRAD_EDU_FAST=1: fewer epochs)
"""

import math
import os
import tempfile

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    load_digits,
    train_val_test_split,
)
from tinygrad_edu.metrics import classification_report, confusion_matrix
from tinygrad_edu.train import EarlyStopping, evaluate, fit, predict

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 8 if FAST else 30


# ------------------------------------------------------------------ 5. data (used from step 3;
# explained at step 5 below)
X, y = load_digits()
(X_tr, y_tr), (X_va, y_va), (X_te_raw, y_te) = train_val_test_split(X, y, ratios="7:2:1",
                                                                    stratify=True, seed=0)
scaler = StandardScaler().fit(X_tr)  # mean and std of the TRAINING part only
X_tr, X_va, X_te = scaler.transform(X_tr), scaler.transform(X_va), scaler.transform(X_te_raw)


# ------------------------------------------------------------------ 1. the model
def build_model():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


# ------------------------------------------------------------------ 2. initialisation
def init_weights(model):
    hidden, last = model[0], model[-1]
    nn.init.kaiming_normal_(hidden.weight, nonlinearity="relu")  # Var(w) = 2 / fan_in
    nn.init.normal_(last.weight, 0.0, 0.01)  # small scores at first: near-even probabilities
    for layer in (hidden, last):
        nn.init.zeros_(layer.bias)


tg.manual_seed(0)  # the package-wide generator: initialisation and shuffling reproducible
model = build_model()
init_weights(model)
print(f"1. The model ({model.num_parameters()} parameters):\n{model}")
print("\n2. Initialisation: the hidden layer Kaiming (for ReLU), the output layer small, "
      "biases 0")

# why random: if every weight starts equal, every hidden unit computes the same thing, gets
# the same gradient and stays a copy of the others (the symmetry is never broken)
twin = build_model()
for p in twin.parameters():
    p.data[...] = 0.1
opt = optim.SGD(twin.parameters(), lr=0.1)
for _ in range(20):
    opt.zero_grad()
    nn.functional.cross_entropy(twin(tg.Tensor(X_tr[:256])), tg.Tensor(y_tr[:256])).backward()
    opt.step()
rows = twin[0].weight.data  # one row per hidden unit
print(f"   why random? With every weight 0.1 at the start, after 20 training steps the 64 "
      f"hidden units\n   differ by at most {np.abs(rows - rows[0]).max():.1e}: still identical "
      "copies, a 1-unit network 64 times over")
assert np.abs(rows - rows[0]).max() < 1e-6

# ------------------------------------------------------------------ 3. the loss
loss_fn = nn.CrossEntropyLoss()
with tg.no_grad():
    start = loss_fn(model(tg.Tensor(X_tr)), tg.Tensor(y_tr)).item()
print(f"\n3. Cross-entropy before training: {start:.3f}. A model that knows nothing spreads its "
      f"probability\n   evenly and scores -log(1/10) = {math.log(10):.3f}: a first loss far "
      "from that means the initial\n   scores are too large (check the init).")
assert abs(start - math.log(10)) < 0.05

# ------------------------------------------------------------------ 4. the optimiser
LR, BATCH = 3e-3, 64
optimizer = optim.Adam(model.parameters(), lr=LR)
print(f"\n4. Adam, lr {LR}, batches of {BATCH}, up to {EPOCHS} epochs")

# ------------------------------------------------------------------ 5. the data
print(f"\n5. Data: 7:2:1 stratified split: train {X_tr.shape}, validation {X_va.shape}, test "
      f"{X_te.shape};\n   standardised with the training part's mean and std")

# ------------------------------------------------------------------ 6. the loop, by hand
print("\n6. One epoch written out, and the same epoch by fit(): identical weights")


def loader():  # a seeded loader: the same batches in the same order every time it is made
    return DataLoader(TensorDataset(X_tr, y_tr), batch_size=BATCH, shuffle=True, seed=0)


by_hand, by_fit = build_model(), build_model()
by_fit.load_state_dict(by_hand.state_dict())  # same starting weights
opt_hand = optim.Adam(by_hand.parameters(), lr=LR)
for xb, yb in loader():
    out = by_hand(xb)  # forward pass
    loss = loss_fn(out, yb)  # loss
    loss.backward()  # backward pass: every parameter's .grad
    opt_hand.step()  # update
    opt_hand.zero_grad()  # zero the gradients (they would add up otherwise)
fit(by_fit, loss_fn, optim.Adam(by_fit.parameters(), lr=LR), loader(), epochs=1, verbose=0)
diff = max(float(np.abs(a.data - b.data).max())
           for a, b in zip(by_hand.parameters(), by_fit.parameters()))
print(f"   largest weight difference after one epoch: {diff:.1e}")
assert diff < 1e-6

# ------------------------------------------------------------------ 7. train, validate
print("\n7. Training with validation after every epoch and early stopping (patience 3):")
train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=BATCH, shuffle=True, seed=0)
val_loader = DataLoader(TensorDataset(X_va, y_va), batch_size=512)
stop = EarlyStopping(monitor="val_loss", patience=3, verbose=False)
history = fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=EPOCHS,
              callbacks=[stop], verbose=2, log=lambda line: print("   " + line))
best_epoch, best_val = history.best("val_loss")
print(f"   best validation loss {best_val:.4f} at epoch {best_epoch}"
      + (f"; stopped at epoch {stop.stopped_epoch} and restored epoch {best_epoch}'s weights"
         if stop.stopped_epoch else ""))
assert history["loss"][-1] < history["loss"][0] and history.best("val_accuracy")[1] > 0.9

# ------------------------------------------------------------------ 8. test once
test_loader = DataLoader(TensorDataset(X_te, y_te), batch_size=512)
test = evaluate(model, test_loader, loss_fn)
pred = predict(model, X_te).argmax(axis=1)
print(f"\n8. Test, once: loss {test['loss']:.4f}, accuracy {test['accuracy']:.3f}")
print("   confusion matrix (rows: true digit, columns: predicted):")
for row in confusion_matrix(y_te, pred, num_classes=10):
    print("   " + " ".join(f"{v:3d}" for v in row))
for line in classification_report(y_te, pred).splitlines():
    print(("   " + line).rstrip())
assert test["accuracy"] > 0.9

# ------------------------------------------------------------------ 9. save, load, predict
print("\n9. Save the model and the scaler, load them into fresh objects, predict")
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "digits_mlp.npz")
    tg.save({"model": model.state_dict(), "scaler": scaler.state_dict(),
             "config": {"hidden": 64, "lr": LR, "epochs": len(history)}}, path)
    print(f"   saved {os.path.getsize(path)} bytes to {os.path.basename(path)}")
    ckpt = tg.load(path)
fresh = build_model()  # new, differently initialised weights ...
fresh.load_state_dict(ckpt["model"])  # ... replaced by the saved ones
fresh_scaler = StandardScaler().load_state_dict(ckpt["scaler"])
new_images = X_te_raw[:5]  # new images arrive unscaled: scale them the same way
scores = predict(fresh, fresh_scaler.transform(new_images))
probs = tg.nn.functional.softmax(tg.Tensor(scores), dim=1).data
for label, p, true in zip(scores.argmax(axis=1), probs.max(axis=1), y_te[:5]):
    print(f"   predicted digit {label} with probability {p:.3f} (true digit {true})")
same = predict(model, scaler.transform(new_images))
assert np.array_equal(scores, same) and ckpt["config"]["hidden"] == 64
print("   the loaded model gives exactly the original model's outputs")
print("\nTakeaway: structure, init, loss, optimiser, data, loop, validation, one test, save "
      "and load: fit() runs steps 6-7 for you, the same loop you can write by hand.")
