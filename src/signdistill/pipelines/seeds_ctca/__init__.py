"""``seeds_ctca``: CTCA, its SDPN D variant and the plain SDPN over seeds, against the baseline and the SDPN."""

from signdistill.pipelines.seeds_ctca.pipeline import create_pipeline

__all__ = ["create_pipeline"]
