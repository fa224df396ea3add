"""The AWS provider: Cost Explorer, Budgets and an inventory audit over accounts x regions.

Importing this package (or `provider` / `checks`) does not import boto3: clients are built on
first use. See docs/providers/aws.md.
"""
