"""ART's ``PyTorchClassifier`` with the same ``predict`` and ``class_gradient``, computed with less overhead.

ART's ``class_gradient`` runs one backward pass per class (ten for DeepFool, one per distinct target label
for JSMA), each also filling the weights' gradients, and copies every gradient through a hook; its
``predict`` goes through a DataLoader. Here ``predict`` runs the model on the same batches directly and
``class_gradient`` asks autograd for the input gradient only: all classes in one batched backward pass, or
one pass with each sample's own label as the seed. Samples do not interact (eval mode), so every sample's
gradient is the one ART computes (``tests/test_attacks_classifier.py``). Models with ART preprocessing,
RNNs or layer-wise gradients fall back to ART's own code.
"""

from __future__ import annotations

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier
from torch import nn


class FastPyTorchClassifier(PyTorchClassifier):
    """``PyTorchClassifier`` whose ``predict`` and ``class_gradient`` return what ART's do, faster (see above)."""

    def _plain(self) -> bool:
        return (
            not self.preprocessing_operations
            and not self.postprocessing_defences
            and not self.is_rnn
            and self._layer_idx_gradients < 0
        )

    def predict(self, x: np.ndarray, batch_size: int = 128, training_mode: bool = False, **kwargs) -> np.ndarray:
        if not self._plain():
            return super().predict(x, batch_size=batch_size, training_mode=training_mode, **kwargs)
        self._model.train(mode=training_mode)
        with torch.no_grad():
            scores = [
                self._model(torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(self._device))[-1]
                for start in range(0, len(x), batch_size)
            ]
        return torch.cat(scores).cpu().numpy().astype(np.float32)

    def class_gradient(self, x: np.ndarray, label=None, training_mode: bool = False, **kwargs) -> np.ndarray:
        if not self._plain() or self.nb_classes < 2:
            return super().class_gradient(x, label=label, training_mode=training_mode, **kwargs)
        label = np.asarray(label) if isinstance(label, list) else label
        known = (
            label is None
            or (np.ndim(label) == 0 and 0 <= int(label) < self.nb_classes)
            or (isinstance(label, np.ndarray) and label.shape == (len(x),) and (label < self.nb_classes).all())
        )
        if not known:
            raise ValueError(f"Label {label} is out of range.")
        self._model.train(mode=training_mode)
        inputs = torch.from_numpy(np.ascontiguousarray(x)).to(self._device).requires_grad_(True)
        with torch.enable_grad():
            scores = self._model(inputs)[-1]
            if label is None:  # d score_c / d x for every class c: (classes, samples, ...) -> (samples, classes, ...)
                seeds = torch.eye(self.nb_classes, dtype=scores.dtype, device=scores.device)[:, None]
                seeds = seeds.expand(-1, len(x), -1)
                gradients = torch.autograd.grad(scores, inputs, seeds, is_grads_batched=True)[0].transpose(0, 1)
                return gradients.cpu().numpy()
            picks = torch.as_tensor(np.broadcast_to(label, (len(x),)).astype(np.int64), device=scores.device)
            seeds = nn.functional.one_hot(picks, self.nb_classes).to(scores.dtype)
            return torch.autograd.grad(scores, inputs, seeds)[0][:, None].cpu().numpy()
