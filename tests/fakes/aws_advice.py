"""A fake of AWS's optimization APIs that moto lacks, in front of moto: the real boto3 clients reach
it through `AWS_ENDPOINT_URL`; every request it does not answer itself is forwarded to moto
(`FaultyAwsProxy`), so one endpoint serves the whole estate.

Answered here, with AWS's own field names, protocols and paging (sources: AWS Cost Optimization
Hub API Reference, ListRecommendations / Recommendation / Filter; AWS Compute Optimizer API
Reference, GetEC2InstanceRecommendations / GetEBSVolumeRecommendations /
GetLambdaFunctionRecommendations / InstanceRecommendation / VolumeRecommendation /
LambdaFunctionRecommendation / SavingsOpportunity; AWS Billing and Cost Management API Reference, Cost
Explorer GetSavingsPlansUtilization / GetReservationUtilization / GetSavingsPlansCoverage /
GetSavingsPlansPurchaseRecommendation / GetReservationPurchaseRecommendation; the protocols as
botocore's service models declare them):

- Cost Optimization Hub (`awsJson1_0`, X-Amz-Target `CostOptimizationHubService.*`):
  `ListRecommendations` filtered by `filter.accountIds` / `filter.regions`, paged by `maxResults`
  / `nextToken`. An account in `hub_not_enrolled` gets `AccessDeniedException` with the "not
  enrolled" wording AWS's samples handle (the exact message is not documented; only the code is).
- Compute Optimizer (`awsJson1_0`, `ComputeOptimizerService.*`: its model offers
  `smithy-rpc-v2-cbor` and `json`, and botocore prefers `json`, see
  `botocore.utils.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS`): EC2 and EBS recommendations by
  `accountIds`, the region taken from the request's SigV4 credential scope, paged; an account in
  `optimizer_not_opted_in` gets `OptInRequiredException`. Lambda functions likewise
  (`GetLambdaFunctionRecommendations`).
- Cost Explorer (`awsJson1_1`, `AWSInsightsIndexService.*`): the five commitment operations by
  account (`Filter` LINKED_ACCOUNT or `AccountId`), paged where AWS pages them
  (`NextPageToken` / `NextToken`). Accounts without data get `DataUnavailableException`, as CE
  answers an account with no commitments.

`denied` holds (account, operation) pairs answering `AccessDeniedException` (a 403 scope);
`throttle(op, n)` makes the next n requests of an operation answer `ThrottlingException`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.aws_estate import Estate, FaultyAwsProxy, operation
from tests.fakes.http import Reply, Request

J = dict[str, Any]
_REGION_RE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


@dataclass
class CeAccount:
    """One account's Cost Explorer commitment answers (None / empty: no data)."""

    sp_utilization: J | None = None  # SavingsPlansUtilization: TotalCommitment, UsedCommitment, ...
    ri_groups: list[J] = field(default_factory=list)  # ReservationUtilizationGroup items
    sp_coverages: list[J] = field(default_factory=list)  # SavingsPlansCoverage items
    sp_details: list[J] = field(default_factory=list)  # SavingsPlansPurchaseRecommendationDetail
    ri_details: dict[str, list[J]] = field(default_factory=dict)  # service -> RecommendationDetails


class FakeAwsAdvice(FaultyAwsProxy):
    def __init__(self, moto_url: str, *, deny_accounts: tuple[str, ...] = ()) -> None:
        super().__init__(moto_url, deny_accounts=deny_accounts)
        self.hub: dict[tuple[str, str], list[J]] = {}
        self.optimizer: dict[tuple[str, str, str], list[J]] = {}  # (account, region, ec2|ebs|lambda)
        self.ce: dict[str, CeAccount] = {}
        self.hub_not_enrolled: set[str] = set()
        self.optimizer_not_opted_in: set[str] = set()
        self.denied: set[tuple[str, str]] = set()
        self._throttles: dict[str, int] = {}
        self._tlock = threading.Lock()
        self.handlers: dict[str, Callable[[Request, J], Reply]] = {
            "ListRecommendations": self._hub,
            "GetEC2InstanceRecommendations": self._co("ec2", "instanceRecommendations"),
            "GetEBSVolumeRecommendations": self._co("ebs", "volumeRecommendations"),
            "GetLambdaFunctionRecommendations": self._co("lambda", "lambdaFunctionRecommendations"),
            "GetSavingsPlansUtilization": self._sp_utilization,
            "GetReservationUtilization": self._ri_utilization,
            "GetSavingsPlansCoverage": self._sp_coverage,
            "GetSavingsPlansPurchaseRecommendation": self._sp_purchase,
            "GetReservationPurchaseRecommendation": self._ri_purchase,
        }

    def throttle(self, op: str, times: int = 1) -> None:
        with self._tlock:
            self._throttles[op] = self._throttles.get(op, 0) + times

    def ops(self, name: str) -> int:
        """How many requests of one operation reached the fake."""
        return sum(1 for op in self.operations() if op == name)

    # -- dispatch ------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        op = operation(request)
        handler = self.handlers.get(op)
        if handler is None:
            return super()._handle(request)
        body: J = json.loads(request.body or b"{}") or {}
        with self._tlock:
            if self._throttles.get(op, 0) > 0:
                self._throttles[op] -= 1
                return self._error(400, "ThrottlingException", "Rate exceeded")
        account = _account_of(body)
        if (account, op) in self.denied:
            return self._error(
                400,
                "AccessDeniedException",
                f"User is not authorized to perform: {op} on account {account}",
            )
        if op == "ListRecommendations" and account in self.hub_not_enrolled:
            return self._error(400, "AccessDeniedException", "You are not enrolled in Cost Optimization Hub.")
        if op.startswith("Get") and op.endswith("Recommendations") and account in self.optimizer_not_opted_in:
            return self._error(
                400, "OptInRequiredException", "The account is not opted in to AWS Compute Optimizer."
            )
        return handler(request, body)

    @staticmethod
    def _error(status: int, code: str, message: str) -> Reply:
        return Reply.json({"__type": code, "message": message}, status, {"x-amzn-ErrorType": code})

    # -- Cost Optimization Hub -----------------------------------------------------------------

    def _hub(self, request: Request, body: J) -> Reply:
        flt = body.get("filter") or {}
        accounts, regions = flt.get("accountIds"), flt.get("regions")
        items = [
            item
            for (account, region), found in sorted(self.hub.items())
            if (not accounts or account in accounts) and (not regions or region in regions)
            for item in found
        ]
        page, token = _page(items, body.get("nextToken"), body.get("maxResults") or 1000)
        return Reply.json({"items": page, **({"nextToken": token} if token else {})})

    # -- Compute Optimizer ---------------------------------------------------------------------

    def _co(self, kind: str, key: str) -> Callable[[Request, J], Reply]:
        def handler(request: Request, body: J) -> Reply:
            found = _REGION_RE.search(request.headers.get("authorization", ""))
            region = found.group(1) if found else "us-east-1"
            items = [
                item
                for account in body.get("accountIds") or []
                for item in self.optimizer.get((account, region, kind), [])
            ]
            page, token = _page(items, body.get("nextToken"), body.get("maxResults") or 1000)
            return Reply.json({key: page, "errors": [], **({"nextToken": token} if token else {})})

        return handler

    # -- Cost Explorer -------------------------------------------------------------------------

    def _ce_account(self, body: J) -> CeAccount | None:
        return self.ce.get(_account_of(body))

    @staticmethod
    def _no_data() -> Reply:
        return Reply.json(
            {"__type": "DataUnavailableException", "message": "Data is not available."},
            400,
            {"x-amzn-ErrorType": "DataUnavailableException"},
        )

    def _sp_utilization(self, request: Request, body: J) -> Reply:
        data = self._ce_account(body)
        if data is None or data.sp_utilization is None:
            return self._no_data()
        period = body["TimePeriod"]
        return Reply.json(
            {
                "SavingsPlansUtilizationsByTime": [
                    {"TimePeriod": period, "Utilization": data.sp_utilization}
                ],
                "Total": {"Utilization": data.sp_utilization},
            }
        )

    def _ri_utilization(self, request: Request, body: J) -> Reply:
        data = self._ce_account(body)
        if data is None or not data.ri_groups:
            return self._no_data()
        page, token = _page(data.ri_groups, body.get("NextPageToken"), body.get("MaxResults") or 20)
        answer: J = {"UtilizationsByTime": [{"TimePeriod": body["TimePeriod"], "Groups": page}], "Total": {}}
        return Reply.json({**answer, **({"NextPageToken": token} if token else {})})

    def _sp_coverage(self, request: Request, body: J) -> Reply:
        data = self._ce_account(body)
        if data is None or not data.sp_coverages:
            return self._no_data()
        page, token = _page(data.sp_coverages, body.get("NextToken"), body.get("MaxResults") or 20)
        return Reply.json({"SavingsPlansCoverages": page, **({"NextToken": token} if token else {})})

    def _sp_purchase(self, request: Request, body: J) -> Reply:
        data = self._ce_account(body)
        details = data.sp_details if data else []
        page, token = _page(details, body.get("NextPageToken"), body.get("PageSize") or 20)
        rec: J = {
            "AccountScope": body.get("AccountScope", "PAYER"),
            "SavingsPlansType": body.get("SavingsPlansType"),
            "TermInYears": body.get("TermInYears"),
            "PaymentOption": body.get("PaymentOption"),
            "LookbackPeriodInDays": body.get("LookbackPeriodInDays"),
            "SavingsPlansPurchaseRecommendationDetails": page,
        }
        answer: J = {"Metadata": {"RecommendationId": "sp-rec-1"}, "SavingsPlansPurchaseRecommendation": rec}
        return Reply.json({**answer, **({"NextPageToken": token} if token else {})})

    def _ri_purchase(self, request: Request, body: J) -> Reply:
        data = self._ce_account(body)
        details = (data.ri_details if data else {}).get(body.get("Service", ""), [])
        page, token = _page(details, body.get("NextPageToken"), body.get("PageSize") or 20)
        recs = [
            {
                "AccountScope": body.get("AccountScope", "PAYER"),
                "LookbackPeriodInDays": body.get("LookbackPeriodInDays"),
                "TermInYears": body.get("TermInYears"),
                "PaymentOption": body.get("PaymentOption"),
                "RecommendationDetails": page,
            }
        ]
        answer: J = {"Metadata": {"RecommendationId": "ri-rec-1"}, "Recommendations": recs if page else []}
        return Reply.json({**answer, **({"NextPageToken": token} if token else {})})


def _account_of(body: J) -> str:
    if body.get("AccountId"):
        return str(body["AccountId"])
    ids = body.get("accountIds") or (body.get("filter") or {}).get("accountIds") or []
    if ids:
        return str(ids[0])
    dims = (body.get("Filter") or {}).get("Dimensions") or {}
    if dims.get("Key") == "LINKED_ACCOUNT" and dims.get("Values"):
        return str(dims["Values"][0])
    return ""


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + int(size)
    return items[start:end], (str(end) if end < len(items) else None)


# ------------------------------------------------------------------------------------ builders


def hub_item(
    account: str,
    region: str,
    resource_id: str,
    resource_type: str,
    action: str,
    saving: float,
    *,
    current: str = "",
    recommended: str = "",
    cost_after: float | None = None,
    tags: dict[str, str] | None = None,
) -> J:
    """A Cost Optimization Hub `Recommendation`."""
    item: J = {
        "recommendationId": f"rec-{abs(hash((account, region, resource_id, action))) % 10**10}",
        "accountId": account,
        "region": region,
        "resourceId": resource_id,
        "resourceArn": f"arn:aws:ec2:{region}:{account}:resource/{resource_id}",
        "currentResourceType": resource_type,
        "recommendedResourceType": resource_type,
        "estimatedMonthlySavings": saving,
        "estimatedSavingsPercentage": 40.0,
        "currencyCode": "USD",
        "implementationEffort": "Medium",
        "restartNeeded": action != "Delete",
        "actionType": action,
        "rollbackPossible": True,
        "currentResourceSummary": current,
        "recommendedResourceSummary": recommended,
        "lastRefreshTimestamp": 1796000000.0,
        "recommendationLookbackPeriodInDays": 14,
        "source": "ComputeOptimizer",
        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
    }
    if cost_after is not None:
        item["estimatedMonthlyCost"] = cost_after
    return item


def _saving(value: float) -> J:
    return {
        "savingsOpportunityPercentage": 30.0,
        "estimatedMonthlySavings": {"currency": "USD", "value": value},
    }


def ec2_recommendation(
    account: str, region: str, instance_id: str, current: str, target: str, saving: float
) -> J:
    """A Compute Optimizer `InstanceRecommendation` (finding Overprovisioned, ranked options)."""
    return {
        "instanceArn": f"arn:aws:ec2:{region}:{account}:instance/{instance_id}",
        "accountId": account,
        "instanceName": instance_id,
        "currentInstanceType": current,
        "finding": "Overprovisioned",
        "findingReasonCodes": ["CPUOverprovisioned"],
        "lookBackPeriodInDays": 14.0,
        "recommendationOptions": [
            {"instanceType": "x9.huge", "rank": 2, "savingsOpportunity": _saving(saving / 2)},
            {"instanceType": target, "rank": 1, "savingsOpportunity": _saving(saving)},
        ],
        "instanceState": "running",
        "tags": [],
    }


def ebs_recommendation(
    account: str, region: str, volume_id: str, saving: float, finding: str = "NotOptimized"
) -> J:
    """A Compute Optimizer `VolumeRecommendation`."""
    return {
        "volumeArn": f"arn:aws:ec2:{region}:{account}:volume/{volume_id}",
        "accountId": account,
        "currentConfiguration": {"volumeType": "gp2", "volumeSize": 200},
        "finding": finding,
        "lookBackPeriodInDays": 14.0,
        "volumeRecommendationOptions": [
            {
                "configuration": {"volumeType": "gp3", "volumeSize": 200},
                "rank": 1,
                "savingsOpportunity": _saving(saving),
            }
        ],
    }


def lambda_recommendation(
    account: str, region: str, name: str, current: int, target: int, saving: float
) -> J:
    """A Compute Optimizer `LambdaFunctionRecommendation` (finding NotOptimized)."""
    return {
        "functionArn": f"arn:aws:lambda:{region}:{account}:function:{name}:$LATEST",
        "functionVersion": "$LATEST",
        "accountId": account,
        "currentMemorySize": current,
        "numberOfInvocations": 120000,
        "lookbackPeriodInDays": 14.0,
        "finding": "NotOptimized",
        "findingReasonCodes": ["MemoryOverprovisioned"],
        "memorySizeRecommendationOptions": [
            {"rank": 1, "memorySize": target, "savingsOpportunity": _saving(saving)}
        ],
    }


def ri_group(
    lease_id: str, instance_type: str, utilization: float, fee: float, region: str = "us-east-1"
) -> J:
    """A GetReservationUtilization group (GroupBy SUBSCRIPTION_ID)."""
    unused = fee * (100 - utilization) / 100
    return {
        "Key": "SUBSCRIPTION_ID",
        "Value": lease_id,
        "Attributes": {
            "leaseId": lease_id,
            "instanceType": instance_type,
            "region": region,
            "service": "Amazon Elastic Compute Cloud - Compute",
            "platform": "Linux/UNIX",
        },
        "Utilization": {
            "UtilizationPercentage": f"{utilization:.2f}",
            "PurchasedHours": "720",
            "UnusedHours": f"{720 * (100 - utilization) / 100:.1f}",
            "TotalAmortizedFee": f"{fee:.2f}",
            "RICostForUnusedHours": f"{unused:.2f}",
        },
    }


def sp_utilization(total: float, used: float) -> J:
    return {
        "TotalCommitment": f"{total:.2f}",
        "UsedCommitment": f"{used:.2f}",
        "UnusedCommitment": f"{total - used:.2f}",
        "UtilizationPercentage": f"{used * 100 / total:.2f}",
    }


def sp_coverage(start: str, end: str, covered: float, on_demand: float) -> J:
    total = covered + on_demand
    return {
        "Attributes": {},
        "TimePeriod": {"Start": start, "End": end},
        "Coverage": {
            "SpendCoveredBySavingsPlans": f"{covered:.2f}",
            "OnDemandCost": f"{on_demand:.2f}",
            "TotalCost": f"{total:.2f}",
            "CoveragePercentage": f"{covered * 100 / total:.2f}",
        },
    }


def sp_detail(account: str, hourly: float, monthly_saving: float, detail_id: str = "d-1") -> J:
    return {
        "AccountId": account,
        "RecommendationDetailId": detail_id,
        "CurrencyCode": "USD",
        "HourlyCommitmentToPurchase": f"{hourly:.3f}",
        "EstimatedMonthlySavingsAmount": f"{monthly_saving:.2f}",
        "EstimatedSavingsPercentage": "22.5",
        "UpfrontCost": "0",
        "SavingsPlansDetails": {"OfferingId": "offer-1", "InstanceFamily": "", "Region": ""},
    }


def ri_detail(account: str, instance_type: str, engine: str, count: int, monthly_saving: float) -> J:
    return {
        "AccountId": account,
        "InstanceDetails": {
            "RDSInstanceDetails": {
                "InstanceType": instance_type,
                "DatabaseEngine": engine,
                "Region": "us-east-1",
            }
        },
        "RecommendedNumberOfInstancesToPurchase": str(count),
        "CurrencyCode": "USD",
        "EstimatedMonthlySavingsAmount": f"{monthly_saving:.2f}",
        "EstimatedMonthlySavingsPercentage": "31",
        "UpfrontCost": "0",
    }


def seed_estate_advice(
    fake: FakeAwsAdvice, estate: Estate, today: str, month_ago: str
) -> dict[str, set[tuple]]:
    """One recommendation for every aws.rightsizing.* / aws.commitment.* check in every seeded
    (account, region), plus a hub recommendation on an unattached volume whose saving is smaller
    than our own list price (de-duplicated into aws.ebs.unattached_volume). Returns what each
    check must report: check id -> {(scope, region, resource id)}."""
    expected: dict[str, set[tuple]] = {}

    def expect(check: str, account: str, region: str | None, resource: str) -> None:
        expected.setdefault(check, set()).add((f"aws:{account}", region, resource))

    for c in estate.cells:
        a, r = c.account_id, c.region
        orphan = next(iter(c.waste["aws.ebs.unattached_volume"]))
        items = [
            ("ec2_instance", c.healthy["worker"], "Ec2Instance", "Rightsize", 31.5),
            ("ebs_volume", c.healthy["gp3_volume"], "EbsVolume", "Rightsize", 3.0),
            ("lambda_function", f"fn-{r}", "LambdaFunction", "Rightsize", 4.2),
            ("ecs_service", f"svc/web-{r}", "EcsService", "Rightsize", 12.0),
            ("rds_instance", f"db-{r}", "RdsDbInstance", "Rightsize", 55.0),
            ("idle", c.healthy["instance"], "Ec2Instance", "Stop", 20.0),
            ("graviton", f"i-graviton-{r}", "Ec2Instance", "MigrateToGraviton", 8.0),
            ("other", f"table-{r}", "DynamoDBTable", "Rightsize", 3.0),
        ]
        fake.hub[(a, r)] = [
            hub_item(a, r, rid, rtype, action, saving) for _, rid, rtype, action, saving in items
        ]
        fake.hub[(a, r)] += [
            hub_item(a, r, orphan, "EbsVolume", "Delete", 10.0),  # ours (77.50) is larger: ours kept
            hub_item(a, r, "sp", "ComputeSavingsPlans", "PurchaseSavingsPlans", 400.0),  # CE's business
        ]
        for name, rid, *_ in items:
            expect(f"aws.rightsizing.{name}", a, r, rid)
    for account in sorted({c.account_id for c in estate.cells}):
        fake.ce[account] = CeAccount(
            sp_utilization=sp_utilization(total=1000.0, used=620.0),
            ri_groups=[
                ri_group("ri-low", "m5.xlarge", 40.0, 200.0),
                ri_group("ri-fine", "c5.large", 98.0, 100.0),
            ],
            sp_coverages=[sp_coverage(month_ago, today, covered=300.0, on_demand=700.0)],
            sp_details=[sp_detail(account, 0.5, 120.0)],
            ri_details={
                "Amazon Relational Database Service": [ri_detail(account, "db.r5.large", "MySQL", 2, 85.0)]
            },
        )
        expect("aws.commitment.savings_plans_utilization", account, None, f"savings-plans:{account}")
        expect("aws.commitment.ri_utilization", account, "us-east-1", "ri-low")
        expect("aws.commitment.savings_plans_coverage", account, None, f"savings-plans-coverage:{account}")
        expect("aws.commitment.savings_plans_purchase", account, None, "savings-plans-recommendation:d-1")
        expect(
            "aws.commitment.ri_purchase",
            account,
            "us-east-1",
            "ri-recommendation:Amazon Relational Database Service:db.r5.large MySQL:us-east-1",
        )
    return expected
