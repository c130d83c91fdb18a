"""HTTPS at CloudFront: one distribution tenant per proven domain, with a CloudFront-managed certificate.

- states.py:  the vocabulary (a certificate's status, what a tenant should be) and its plain-language reasons
- client.py:  the only code that talks to CloudFront (boto3), errors classified transient or permanent
- intent.py:  cdn_change_record(), a tenant's goal written in the transaction that changes its domain

Kept free of imports here: domains.models imports the states module.
"""
