"""The invoke proxy: ``/api/v2/endpoints/workloads/{id}/{path}`` to a ready replica.

One module per job: ``view`` (authorise, admit, relay, count), ``target`` (the raw request
target), ``headers`` (what crosses in each direction, and the sandbox that keeps workload
pages from acting as the console), ``body`` (the request body as a stream), ``upstream``
(one exchange under an overall deadline) and ``slots`` (requests in flight per workload).
"""

from __future__ import annotations

from workloads.proxy.view import invoke

__all__ = ["invoke"]
