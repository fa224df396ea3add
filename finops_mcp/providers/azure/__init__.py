"""The Azure provider: Cost Management queries and forecasts, Consumption budgets, and a waste audit
over Compute, Network and App Service inventories, through the azure-mgmt SDKs (imported lazily).

Modules: `clients` (credentials, sovereign clouds, the read-only pipeline policy, SDK clients built
once), `errors` (HTTP status and throttle headers -> retry decisions and error codes), `costquery`
(query bodies, column-name parsing, nextLink paging), `inventory` (one subscription's resources as
plain data), `checks` (the `azure.*` checks), `prices` (the documented list-price table), `provider`.
"""
