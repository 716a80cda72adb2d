"""Amazon Neptune IAM authentication: SigV4-signed headers for the WebSocket handshake.

Optional: needs botocore (``pip install identity[neptune]``) and AWS credentials from the
usual chain (environment, profile, instance role).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .errors import AuthenticationError

__all__ = ["sigv4_headers"]


def sigv4_headers(url: str, region: str | None = None) -> dict[str, str]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.session import Session
    except ImportError:  # pragma: no cover - depends on the optional extra
        raise AuthenticationError("Neptune IAM auth needs botocore: pip install 'identity[neptune]'") from None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise AuthenticationError("Neptune IAM auth needs a region (?region= or AWS_REGION)")
    credentials = Session().get_credentials()
    if credentials is None:
        raise AuthenticationError("Neptune IAM auth found no AWS credentials")
    parts = urlsplit(url)
    # Neptune signs the HTTPS form of the WebSocket URL.
    http_url = url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
    request = AWSRequest(method="GET", url=http_url, headers={"Host": parts.netloc})
    SigV4Auth(credentials, "neptune-db", region).add_auth(request)
    return dict(request.headers.items())
