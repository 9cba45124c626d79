"""Job documents given as `documentSource` (an S3 object URL), read from moto's S3.

AWS IoT reads the document from S3 when the job is created. When moto's `mock_aws` is
active (and the mock's `deliver_to_moto` is on), iotmock reads it from moto's S3 the same
way; otherwise the job keeps only its `documentSource`, as before.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

from botocore.exceptions import ClientError

from iotmock.core import moto_bridge
from iotmock.core.errors import invalid_request
from iotmock.core.operations import RequestContext

# Virtual-hosted style: <bucket>.s3[.-<region>].amazonaws.com/<key>
_VIRTUAL_HOST = re.compile(r"(?P<bucket>.+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com")
# Path style: s3[.-<region>].amazonaws.com/<bucket>/<key>
_PATH_HOST = re.compile(r"s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com")


def s3_location(url: str) -> tuple[str, str, str | None]:
    """(bucket, key, region or None) of an S3 object URL (`https://` virtual-hosted or
    path style, or `s3://bucket/key`)."""
    parsed = urlparse(url)
    path = unquote(parsed.path.lstrip("/"))
    host = parsed.hostname or ""
    if parsed.scheme == "s3":
        return host, path, None
    virtual = _VIRTUAL_HOST.fullmatch(host)
    if virtual is not None and path:
        return virtual["bucket"], path, virtual["region"]
    path_style = _PATH_HOST.fullmatch(host)
    if path_style is not None and "/" in path:
        bucket, key = path.split("/", 1)
        return bucket, key, path_style["region"]
    raise invalid_request(f"documentSource {url} is not an Amazon S3 object URL.")


def read(ctx: RequestContext, url: str) -> str | None:
    """The job document at `url` from moto's S3, or None when moto is not reachable."""
    if not getattr(ctx.mock, "deliver_to_moto", True) or not moto_bridge.active():
        return None
    bucket, key, region = s3_location(url)
    client = moto_bridge.client("s3", region or ctx.region)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise invalid_request(f"The job document could not be read from {url}: {code}.") from None
    try:
        return str(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise invalid_request(f"The job document at {url} is not UTF-8 text.") from None
