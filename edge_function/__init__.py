"""VE.AI custom-domain edge function (Lambda@Edge, origin-request).

Standard library and boto3 only; never imports Django. The entry point is
``edge_function.handler.lambda_handler``. Importing this package is kept cheap
on purpose: boto3 is imported on the first cache miss, not at cold start.
"""
