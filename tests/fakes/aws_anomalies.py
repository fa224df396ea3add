"""A fake of AWS Cost Explorer's `GetAnomalies` over HTTP (moto does not implement it), driven by the
real boto3 `ce` client (`endpoint_url=`, or `AWS_ENDPOINT_URL_COST_EXPLORER`).

What it mimics, from the API reference
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetAnomalies.html,
API_Anomaly.html, API_RootCause.html, API_Impact.html, CommonErrors.html) and botocore's service
model for `ce` (2017-10-25):
- the AWS JSON 1.1 protocol: `POST /`, `X-Amz-Target: AWSInsightsIndexService.GetAnomalies`,
  `Content-Type: application/x-amz-json-1.1`; errors as HTTP 400 with `{"__type": ..., "Message": ...}`;
- request: `DateInterval {StartDate, EndDate?}` (required; yyyy-MM-dd), `MonitorArn?`,
  `Feedback?`, `TotalImpact? {NumericOperator, StartValue, EndValue?}`, `NextPageToken?`,
  `MaxResults?`; anomalies are selected by AnomalyEndDate inside the interval (ongoing anomalies,
  without an end date, are returned too);
- response: `{"Anomalies": [Anomaly...], "NextPageToken"?}`; Anomaly = `AnomalyId`,
  `AnomalyStartDate`, `AnomalyEndDate`, `DimensionValue`, `RootCauses[{Service, Region,
  LinkedAccount, LinkedAccountName, UsageType, Impact {Contribution}}]`, `AnomalyScore {MaxScore,
  CurrentScore}`, `Impact {MaxImpact, TotalImpact, TotalActualSpend, TotalExpectedSpend,
  TotalImpactPercentage}`, `MonitorArn`, `Feedback?`;
- errors: `LimitExceededException` (Cost Explorer's throttling, 400), `InvalidNextTokenException`
  (a token it did not issue), `UnknownMonitorException`, `AccessDeniedException` (no
  `ce:GetAnomalies`), `ValidationException` (missing / malformed DateInterval).
Paging: `page_size` anomalies per page (AWS pages at its own size, whatever MaxResults says).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request

TARGET = "AWSInsightsIndexService.GetAnomalies"
MONITOR = "arn:aws:ce::123456789012:anomalymonitor/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def anomaly(
    anomaly_id: str,
    start: str,
    end: str | None,
    total: float,
    *,
    causes: list[dict[str, Any]] | None = None,
    expected: float = 100.0,
    feedback: str | None = None,
    dimension: str = "Amazon Elastic Compute Cloud - Compute",
) -> dict[str, Any]:
    """An Anomaly object shaped as AWS returns it."""
    out: dict[str, Any] = {
        "AnomalyId": anomaly_id,
        "AnomalyStartDate": start,
        "DimensionValue": dimension,
        "RootCauses": causes or [],
        "AnomalyScore": {"MaxScore": 0.92, "CurrentScore": 0.81},
        "Impact": {
            "MaxImpact": round(total / 2, 2),
            "TotalImpact": total,
            "TotalActualSpend": expected + total,
            "TotalExpectedSpend": expected,
            "TotalImpactPercentage": round(total / expected * 100, 2) if expected else None,
        },
        "MonitorArn": MONITOR,
    }
    if end is not None:
        out["AnomalyEndDate"] = end
    if feedback:
        out["Feedback"] = feedback
    return out


def cause(service: str, region: str, account: str, usage: str, contribution: float) -> dict[str, Any]:
    return {
        "Service": service,
        "Region": region,
        "LinkedAccount": account,
        "LinkedAccountName": "prod",
        "UsageType": usage,
        "Impact": {"Contribution": contribution},
    }


@dataclass
class FakeAnomalies:
    server: FakeHTTPServer
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    throttle_next: int = 0  # answer LimitExceededException to this many requests first
    deny: bool = False
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def handle(self, req: Request) -> Reply:
        target = req.headers.get("x-amz-target", "")
        if target != TARGET:
            return _error("UnknownOperationException", f"operation {target!r} is not served by this fake")
        body = req.json() or {}
        self.bodies.append(body)
        if self.deny:
            return _error(
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: "
                "ce:GetAnomalies",
            )
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return _error("LimitExceededException", "Rate exceeded")
        interval = body.get("DateInterval")
        if not isinstance(interval, dict) or "StartDate" not in interval:
            return _error("ValidationException", "1 validation error detected: DateInterval must not be null")
        try:
            start = date.fromisoformat(interval["StartDate"])
            end = date.fromisoformat(interval["EndDate"]) if interval.get("EndDate") else date.max
        except ValueError:
            return _error("ValidationException", "DateInterval dates must be yyyy-MM-dd")
        if body.get("MonitorArn") not in (None, MONITOR):
            return _error("UnknownMonitorException", "Cost anomaly monitor does not exist")
        selected = [a for a in self.anomalies if _ends_in(a, start, end)]
        if body.get("Feedback"):
            selected = [a for a in selected if a.get("Feedback") == body["Feedback"]]
        token = body.get("NextPageToken")
        offset = 0
        if token:
            if not token.startswith("page-") or not token[5:].isdigit():
                return _error("InvalidNextTokenException", "The pagination token is invalid")
            offset = int(token[5:])
        page = selected[offset : offset + self.page_size]
        answer: dict[str, Any] = {"Anomalies": page}
        if offset + self.page_size < len(selected):
            answer["NextPageToken"] = f"page-{offset + self.page_size}"
        return Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/x-amz-json-1.1"})


def _ends_in(a: dict[str, Any], start: date, end: date) -> bool:
    if not a.get("AnomalyEndDate"):
        return True
    day = date.fromisoformat(a["AnomalyEndDate"][:10])
    return start <= day <= end


def _error(code: str, message: str) -> Reply:
    body = json.dumps({"__type": code, "Message": message}).encode()
    return Reply(400, body, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})


def start_fake(anomalies: list[dict[str, Any]] | None = None, **kwargs: Any) -> FakeAnomalies:
    server = FakeHTTPServer().start()
    fake = FakeAnomalies(server, list(anomalies or []), **kwargs)
    server.route("POST", r"/", fake.handle)
    return fake
