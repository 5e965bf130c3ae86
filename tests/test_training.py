import numpy as np
import pytest
import torch

from disguisednets.models import AlexNet
from disguisednets.training import DisguisedDataModule, TensorLoader, standardization


@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("width", [0.125, 1.0])
def test_alexnet_shapes(size, width):
    net = AlexNet(image_size=size, width=width)
    assert net(torch.zeros(3, 1, size, size)).shape == (3, 10)
    assert len([m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]) == 5
    assert len([m for m in net.modules() if isinstance(m, torch.nn.Linear)]) == 3


def test_tensor_loader_serves_every_sample_once_per_epoch():
    x = torch.arange(10, dtype=torch.float32)[:, None]
    y = torch.arange(10)
    loader = TensorLoader(x, y, batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 3
    seen = torch.cat([b for _, b in loader])
    assert sorted(seen.tolist()) == list(range(10))
    assert len(TensorLoader(x, y, 4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="differ in length"):
        TensorLoader(x, y[:5], 4)


def test_standardization_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5, 2, size=(500, 4, 4)).astype(np.float32)
    test = rng.normal(50, 20, size=(100, 4, 4)).astype(np.float32)
    dm = DisguisedDataModule((train, np.zeros(500)), None, (test, np.zeros(100)))
    dm.setup()
    x_train = dm._tensors["train"][0]
    assert x_train.shape == (500, 1, 4, 4)
    assert abs(float(x_train.mean())) < 1e-4 and abs(float(x_train.std()) - 1) < 0.01
    mean, std = standardization(train)
    np.testing.assert_allclose(dm._tensors["test"][0][:, 0].numpy(), (test - mean) / std, rtol=1e-5)
