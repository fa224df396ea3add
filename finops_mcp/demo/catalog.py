"""Static reference data of the demo estate: a fictional company ("Acme Corp") on AWS, Azure and
Google Cloud. Everything here is plain data; `resources` turns it into resources and `generator`
into FOCUS rows.

Prices are public list prices (USD, Linux, on-demand, 2025-2026) rounded; they only need to look
right to a FinOps practitioner, not to match a price sheet to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED_TAGS: tuple[str, ...] = ("team", "environment", "cost-center")


@dataclass(frozen=True)
class Export:
    """One billing export (one payer / billing account), written to `exports/<folder>/<YYYY-MM>/`."""

    key: str
    folder: str
    fmt: str  # parquet | csv.gz | csv
    provider: str  # ProviderName = PublisherName = InvoiceIssuerName
    billing_account_id: str
    billing_account_name: str
    fleet: int  # generated resources at scale 1 (hero resources come on top)
    contracted_discount: (
        float  # negotiated discount off list (EDP / MACC); ContractedCost = ListCost x (1 - d)
    )
    tax_rate: float  # monthly Tax rows as a share of billed usage (0: the provider exports no tax rows)


EXPORTS: tuple[Export, ...] = (
    Export("aws", "aws", "parquet", "AWS", "210987654321", "acme-management", 255, 0.05, 0.03),
    Export("aws-labs", "aws-acme-labs", "csv", "AWS", "004417295530", "acme-labs-management", 22, 0.0, 0.03),
    Export(
        "azure",
        "azure",
        "csv.gz",
        "Microsoft",
        "8a1f3c52-7d0e-4b9a-9e61-2f4c8d7b3a10:5c2e9f71-3b8d-4a06-b1e4-7f9a0c6d2e58_2019-05-31",
        "Acme Corp",
        140,
        0.03,
        0.0,
    ),
    Export(
        "gcp",
        "gcp",
        "parquet",
        "Google Cloud",
        "01A2B3-C4D5E6-F7A8B9",
        "Acme Corp GCP billing",
        105,
        0.0,
        0.025,
    ),
)
EXPORT_BY_KEY = {e.key: e for e in EXPORTS}


@dataclass(frozen=True)
class Account:
    export: str
    id: str
    name: str
    env: str  # production | staging | development
    regions: tuple[tuple[str, float], ...]
    weight: float
    teams: tuple[str, ...]


ACCOUNTS: tuple[Account, ...] = (
    # AWS (main organization): 12-digit ids, two with leading zeros
    Account("aws", "012345678901", "acme-prod", "production", (("us-east-1", 0.7), ("eu-west-1", 0.3)), 0.38,
            ("checkout", "search", "identity", "platform", "mobile")),
    Account("aws", "230984716502", "acme-staging", "staging", (("us-east-1", 1.0),), 0.12,
            ("checkout", "search", "identity", "mobile")),
    Account("aws", "310957286644", "acme-data", "production", (("us-west-2", 0.6), ("us-east-1", 0.4)), 0.22,
            ("data", "ml")),
    Account("aws", "587120334902", "acme-shared-services", "production", (("us-east-1", 1.0),), 0.14,
            ("platform", "security")),
    Account("aws", "068719532447", "acme-dev", "development", (("us-west-2", 1.0),), 0.14,
            ("checkout", "search", "data", "ml", "platform")),
    # AWS (Acme Labs, an acquired company with its own payer and a plain-CSV export)
    Account("aws-labs", "092235618840", "labs-prod", "production", (("us-east-1", 1.0),), 0.7, ("labs",)),
    Account("aws-labs", "771029384756", "labs-dev", "development", (("us-east-1", 1.0),), 0.3, ("labs",)),
    # Azure subscriptions
    Account("azure", "b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c", "acme-prod-weu", "production",
            (("westeurope", 1.0),), 0.4, ("checkout", "search", "identity", "platform")),
    Account("azure", "7e9d2c4b-1a3f-4b5e-8c6d-9f0a1b2c3d4e", "acme-prod-eus", "production",
            (("eastus", 1.0),), 0.25, ("checkout", "mobile", "platform")),
    Account("azure", "0f4a8b2c-6d1e-4f3a-b5c7-e8d9a0b1c2d3", "acme-nonprod", "development",
            (("westeurope", 0.5), ("eastus", 0.5)), 0.2, ("checkout", "search", "identity", "mobile")),
    Account("azure", "d2a6f8e1-3c5b-4d7a-9e0f-1a2b3c4d5e6f", "acme-analytics", "production",
            (("westeurope", 1.0),), 0.15, ("data",)),
    # Google Cloud projects
    Account("gcp", "acme-web-prod", "Acme Web Production", "production",
            (("us-central1", 0.6), ("europe-west1", 0.4)), 0.4, ("checkout", "search", "mobile")),
    Account("gcp", "acme-data-platform", "Acme Data Platform", "production", (("us-central1", 1.0),), 0.35,
            ("data",)),
    Account("gcp", "acme-ml-sandbox", "Acme ML Sandbox", "development",
            (("us-central1", 0.5), ("us-east4", 0.5)), 0.15, ("ml",)),
    Account("gcp", "acme-shared-net", "Acme Shared Network", "production", (("us-central1", 1.0),), 0.1,
            ("platform",)),
)  # fmt: skip
ACCOUNT_BY_ID = {a.id: a for a in ACCOUNTS}

# region id -> (RegionName, availability zones, price multiplier vs the cheapest region)
REGIONS: dict[str, tuple[str, tuple[str, ...], float]] = {
    "us-east-1": ("US East (N. Virginia)", ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"), 1.0),
    "us-west-2": ("US West (Oregon)", ("us-west-2a", "us-west-2b", "us-west-2c"), 1.0),
    "eu-west-1": ("Europe (Ireland)", ("eu-west-1a", "eu-west-1b", "eu-west-1c"), 1.11),
    "eastus": ("East US", (), 1.0),
    "westeurope": ("West Europe", (), 1.15),
    "us-central1": ("Iowa", ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"), 1.0),
    "us-east4": ("Northern Virginia", ("us-east4-a", "us-east4-b", "us-east4-c"), 1.126),
    "europe-west1": ("Belgium", ("europe-west1-b", "europe-west1-c", "europe-west1-d"), 1.1),
    "us": ("United States (multi-region)", (), 1.0),
}

# team -> (cost center, applications)
TEAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "platform": ("CC-1001", ("k8s-platform", "ci-runners", "observability", "edge-gateway")),
    "checkout": ("CC-1002", ("checkout-api", "payments-worker", "cart-service")),
    "search": ("CC-1003", ("search-api", "search-indexer", "autocomplete")),
    "identity": ("CC-1004", ("auth-service", "user-profile")),
    "data": ("CC-1005", ("data-lake", "etl-pipelines", "reporting")),
    "ml": ("CC-1006", ("recommendations", "feature-store", "model-training")),
    "mobile": ("CC-1007", ("mobile-bff", "push-notifications")),
    "security": ("CC-1008", ("siem", "vuln-scanner")),
    "labs": ("CC-2001", ("labs-api", "labs-worker", "labs-web")),
}

ENV_SHORT = {"production": "prod", "staging": "stg", "development": "dev"}

# --- compute sizes: name -> (vCPU, memory GiB, hourly list price in the base region) ----------------
AWS_EC2 = {
    "t3.medium": (2, 4, 0.0416), "t3.large": (2, 8, 0.0832), "m6i.large": (2, 8, 0.096),
    "m6i.xlarge": (4, 16, 0.192), "m6i.2xlarge": (8, 32, 0.384), "m6i.4xlarge": (16, 64, 0.768),
    "c6i.xlarge": (4, 8, 0.17), "c6i.2xlarge": (8, 16, 0.34), "r6i.xlarge": (4, 32, 0.252),
    "r6i.2xlarge": (8, 64, 0.504), "m7g.xlarge": (4, 16, 0.1632), "m7g.2xlarge": (8, 32, 0.3264),
}  # fmt: skip
AWS_EC2_WEIGHTS = {
    "t3.medium": 4, "t3.large": 5, "m6i.large": 10, "m6i.xlarge": 14, "m6i.2xlarge": 10, "m6i.4xlarge": 4,
    "c6i.xlarge": 8, "c6i.2xlarge": 7, "r6i.xlarge": 6, "r6i.2xlarge": 4, "m7g.xlarge": 8, "m7g.2xlarge": 5,
}  # fmt: skip
AWS_RDS = {  # PostgreSQL, single-AZ
    "db.t4g.medium": 0.065, "db.m6g.large": 0.159, "db.m6g.xlarge": 0.318, "db.r6g.large": 0.26,
    "db.r6g.xlarge": 0.519, "db.r6g.2xlarge": 1.038,
}  # fmt: skip
AWS_CACHE = {"cache.t4g.medium": 0.065, "cache.r6g.large": 0.206, "cache.r6g.xlarge": 0.411}
AZURE_VM = {
    "Standard_B2ms": (2, 8, 0.0832), "Standard_D2s_v5": (2, 8, 0.096), "Standard_D4s_v5": (4, 16, 0.192),
    "Standard_D8s_v5": (8, 32, 0.384), "Standard_E4s_v5": (4, 32, 0.252), "Standard_E8s_v5": (8, 64, 0.504),
    "Standard_F8s_v2": (8, 16, 0.338),
}  # fmt: skip
AZURE_VM_WEIGHTS = {
    "Standard_B2ms": 4, "Standard_D2s_v5": 8, "Standard_D4s_v5": 12, "Standard_D8s_v5": 8,
    "Standard_E4s_v5": 6, "Standard_E8s_v5": 3, "Standard_F8s_v2": 3,
}  # fmt: skip
# GCP machine families: (core $/vCPU-hour, RAM $/GiB-hour) in us-central1
GCP_FAMILIES = {"E2": (0.021811, 0.002923), "N2": (0.031611, 0.004237), "N2D": (0.027502, 0.003686),
                "C3": (0.03398, 0.00455)}  # fmt: skip
GCP_MACHINES = {
    "e2-standard-4": ("E2", 4, 16), "e2-standard-8": ("E2", 8, 32), "n2-standard-4": ("N2", 4, 16),
    "n2-standard-8": ("N2", 8, 32), "n2-highmem-4": ("N2", 4, 32), "n2d-standard-4": ("N2D", 4, 16),
    "c3-standard-8": ("C3", 8, 32),
}  # fmt: skip
GCP_MACHINE_WEIGHTS = {
    "e2-standard-4": 10, "e2-standard-8": 6, "n2-standard-4": 10, "n2-standard-8": 6, "n2-highmem-4": 4,
    "n2d-standard-4": 4, "c3-standard-8": 2,
}  # fmt: skip

SPOT_FACTOR = 0.32  # spot / preemptible price as a share of on-demand

# --- what each export's fleet is made of: resource kind -> share of resources -------------------------
SERVICE_MIX: dict[str, dict[str, float]] = {
    "aws": {
        "ec2": 0.42, "ebs": 0.15, "nat": 0.03, "s3": 0.08, "rds": 0.06, "lambda": 0.08, "cloudfront": 0.02,
        "eks": 0.01, "dynamodb": 0.04, "cloudwatch": 0.04, "elasticache": 0.03, "elb": 0.04,
    },
    "aws-labs": {"ec2": 0.45, "ebs": 0.2, "s3": 0.1, "rds": 0.1, "lambda": 0.15},
    "azure": {
        "vm": 0.44, "disk": 0.15, "storage": 0.09, "sql": 0.05, "aks": 0.02, "bandwidth": 0.06,
        "cosmos": 0.05, "appservice": 0.08, "monitor": 0.06,
    },
    "gcp": {
        "gce": 0.36, "pd": 0.13, "gcs": 0.11, "bigquery": 0.08, "cloudsql": 0.07, "gke": 0.02,
        "cloudrun": 0.12, "lb": 0.11,
    },
}  # fmt: skip

# --- commitment discounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    key: str
    export: str
    account: str
    id: str
    name: str
    type: str  # CommitmentDiscountType
    category: str  # Spend | Usage
    service: str  # ServiceName of its purchase / unused rows
    service_category: str
    region: str | None
    effective_share: float  # amortized rate as a share of the list price
    resource_name: str
    resource_type: str
    unused_service: str  # ServiceName of its Unused rows: the service the commitment covers


COMMITMENTS: tuple[Commitment, ...] = (
    Commitment(
        "aws-sp",
        "aws",
        "012345678901",
        "arn:aws:savingsplans::012345678901:savingsplan/3f2a9c4e-8b1d-4e6f-a7c2-5d9e0b1f4a63",
        "Compute Savings Plan (1 year, No Upfront)",
        "Savings Plan",
        "Spend",
        "Savings Plans for AWS Compute usage",
        "Compute",
        None,
        0.72,
        "compute-sp-2026",
        "Savings Plan",
        "Amazon Elastic Compute Cloud",
    ),
    Commitment(
        "aws-rds-ri",
        "aws",
        "012345678901",
        "arn:aws:rds:us-east-1:012345678901:ri:prod-postgres-r6g-xlarge-2026",
        "RDS Reserved Instance db.r6g.xlarge PostgreSQL (2 instances, 1 year, Partial Upfront)",
        "Reserved Instance",
        "Usage",
        "Amazon Relational Database Service",
        "Databases",
        "us-east-1",
        0.66,
        "prod-postgres-r6g-xlarge-2026",
        "Reserved Instance",
        "Amazon Relational Database Service",
    ),
    Commitment(
        "azure-ri",
        "azure",
        "b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c",
        "/providers/Microsoft.Capacity/reservationOrders/5e8f1a2b-9c3d-4e7f-8a1b-2c3d4e5f6a7b"
        "/reservations/9d4c2b1a-7e6f-4a5b-8c9d-0e1f2a3b4c5d",
        "VM RI - Standard_D8s_v5 - West Europe (6 instances, 1 year, monthly payment)",
        "Reservation",
        "Usage",
        "Virtual Machines",
        "Compute",
        "westeurope",
        0.62,
        "vm-ri-d8sv5-weu",
        "Reservation",
        "Virtual Machines",
    ),
)
COMMITMENT_BY_KEY = {c.key: c for c in COMMITMENTS}
COMMITMENT_TAGS = {"team": "platform", "environment": "production", "cost-center": "CC-1001",
                   "application": "finops-commitments"}  # fmt: skip
AZURE_RI_INSTANCES = 6
