"""benchmarks.ctca_terms: each term's gradient reaches only the parts it trains."""

import torch

from signdistill.benchmarks.ctca_terms import term_scales
from signdistill.models.ctca import CTCAConfig, CTCARecognizer


def test_term_scales_route_each_terms_gradient_where_it_trains() -> None:
    torch.manual_seed(0)
    model = CTCARecognizer(CTCAConfig(num_classes=6, width=4, tcn_channels=16, lstm_hidden=8, shared_tam=12,
                                      frame_stride=1, cmd=False)).train()
    g = torch.Generator().manual_seed(1)
    batch = {"video": torch.randint(0, 255, (2, 40, 16, 16, 3), dtype=torch.uint8, generator=g),
             "lengths": torch.tensor([40, 32]), "labels": torch.tensor([1, 2, 3, 4, 5]),
             "label_lengths": torch.tensor([3, 2])}
    rows = term_scales(model, [batch], {"ctc": 1.0, "ctc_loc": 1.0, "l2g": 0.6, "g2l": 3.0, "rc": 3.0})
    assert set(rows) == {"ctc", "ctc_loc", "l2g", "g2l", "rc"}
    assert rows["ctc"]["grad_bilstm"] > 0 and rows["ctc"]["grad_shared_tam"] > 0
    assert rows["ctc_loc"]["grad_bilstm"] == 0 and rows["ctc_loc"]["grad_shared_tam"] > 0  # the TCN path only
    assert rows["g2l"]["grad_bilstm"] == 0  # trains the TCN branch from the detached BiLSTM
    assert rows["rc"]["grad_bilstm"] > 0  # trains V^glo
    assert rows["rc"]["weighted"] > 0 and torch.isfinite(torch.tensor(rows["rc"]["weighted"]))
