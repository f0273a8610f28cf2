"""SageMaker settings: role ARNs from names, S3 URIs, region from the environment, rules that name the bad key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin_core.cloud.settings import AutoscalingSettings, SageMakerEndpointSettings, SageMakerTrainingSettings


def test_role_arn_s3_uri_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    s = SageMakerTrainingSettings(role="Twin", account_id="123456789012", bucket="b-1", prefix="/a/b/")
    assert s.role_arn() == "arn:aws:iam::123456789012:role/Twin"
    assert s.model_copy(update={"account_id": None}).role_arn("210987654321") == "arn:aws:iam::210987654321:role/Twin"
    arn = "arn:aws:iam::123456789012:role/path/Twin"
    assert SageMakerTrainingSettings(role=arn).role_arn() == arn
    assert s.s3_uri("training", "x/") == "s3://b-1/a/b/training/x"
    assert s.resolved_region() == "eu-west-1"  # AWS_DEFAULT_REGION of the fixture
    assert s.model_copy(update={"region": "cn-north-1"}).role_arn().startswith("arn:aws-cn:iam::")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ValueError, match=r"sagemaker\.region: not set"):
        s.resolved_region()
    with pytest.raises(ValueError, match=r"sagemaker\.role: 'Twin' is a name"):
        SageMakerTrainingSettings(role="Twin", region="eu-west-1").role_arn()
    with pytest.raises(ValueError, match=r"sagemaker\.bucket: required"):
        SageMakerTrainingSettings().s3_uri("x")
    assert SageMakerTrainingSettings().missing("trainer.sagemaker") == [
        "trainer.sagemaker.role",
        "trainer.sagemaker.bucket",
        "trainer.sagemaker.image_uri",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "not a role!"}, "neither an IAM role ARN nor a role name"),
        ({"subnets": ["subnet-1"]}, "give both"),
        ({"instance_type": "g5.xlarge"}, "instance_type"),
        ({"max_runtime_s": 100, "max_wait_s": 50}, "max_wait_s=50 must be >= max_runtime_s=100"),
        ({"account_id": "12"}, "account_id"),
    ],
)
def test_training_settings_reject(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SageMakerTrainingSettings(**kwargs)  # type: ignore[arg-type]


def test_endpoint_settings_reject() -> None:
    with pytest.raises(ValidationError, match="min_capacity=3 exceeds max_capacity=2"):
        AutoscalingSettings(min_capacity=3, max_capacity=2)
    with pytest.raises(ValidationError, match="endpoint_name"):
        SageMakerEndpointSettings(endpoint_name="bad_name")
    assert SageMakerEndpointSettings(initial_instance_count=9, autoscaling=AutoscalingSettings(enabled=False))
