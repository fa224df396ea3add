"""GCP provider: costs and budgets from the BigQuery billing export, waste from Recommender and Compute.

Modules: `provider` (the `GcpProvider` the engine calls), `export` (export schema detection and the
parameterized SQL, no SDK), `bigquery` (running that SQL with google-cloud-bigquery), `budgets`
(Budget API -> budget lines with spend from the export), `inventory` (Compute / Recommender
listings into plain dataclasses), `checks` (the `gcp.*` checks, pure functions), `prices` (the
dated list-price table), `clients` (credentials, REST clients, the read-only guard, error mapping).

Only `provider` and `checks` are imported by the engine; the Google SDKs are imported on first use.
"""
