"""Local stand-ins for the AWS pieces around the edge function.

``python -m edgelocal.cloudfront``  CloudFront: runs the real edge handler on
                                    every request, then forwards to the origin
``python -m edgelocal.origin``      the Amplify front end: shows which workspace
                                    a request is for; refuses requests without
                                    the origin secret
"""
