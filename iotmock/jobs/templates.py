"""Job templates: CreateJobTemplate, DescribeJobTemplate, ListJobTemplates,
DeleteJobTemplate, and the AWS managed templates (DescribeManagedJobTemplate,
ListManagedJobTemplates) that CreateJob can fill in with `documentParameters`.

The managed catalogue is a documented subset of AWS's (docs/jobs.md): the eight
templates the AWS IoT Device Client ships handlers for, version 1.0, Linux.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend, partition
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.core.tagging import drop, tag_on_create
from iotmock.jobs import engine as model

# What a template passes on to a job created from it.
TEMPLATE_CONFIG = (
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
    "maintenanceWindows",
    "destinationPackageVersions",
)


# --------------------------------------------------------------------------- managed catalogue


@dataclass(frozen=True, slots=True)
class Parameter:
    key: str
    description: str
    regex: str
    example: str
    optional: bool

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compiled(self.regex)


@dataclass(frozen=True, slots=True)
class ManagedTemplate:
    name: str
    version: str
    description: str
    document: str
    parameters: tuple[Parameter, ...] = field(default=())
    environments: tuple[str, ...] = ("LINUX",)


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


_RUN_AS_USER = Parameter(
    "runAsUser",
    "Optional. The user to run the handler as on the device.",
    "[a-zA-Z0-9_-]{0,256}",
    "root",
    True,
)
_PATH_TO_HANDLER = Parameter(
    "pathToHandler",
    "Optional. The path to the job handler on the device (default: the Device Client's).",
    "[^\\s]{0,4096}",
    "/home/user/jobs/handlers",
    True,
)
_PACKAGES = Parameter(
    "packages",
    "A space-separated list of one or more application packages.",
    "[a-zA-Z0-9._+:@ -]{1,1024}",
    "nginx mosquitto",
    False,
)
_SERVICES = Parameter(
    "services",
    "A space-separated list of one or more services on the device.",
    "[a-zA-Z0-9._@ -]{1,1024}",
    "nginx mosquitto",
    False,
)


def _handler_document(action: str, handler: str, arguments: list[str]) -> str:
    """A Device Client runHandler job document."""
    return json.dumps(
        {
            "version": "1.0",
            "steps": [
                {
                    "action": {
                        "name": action,
                        "type": "runHandler",
                        "input": {
                            "handler": handler,
                            "args": arguments,
                            "path": "${aws:iot:parameter:pathToHandler}",
                        },
                        "runAsUser": "${aws:iot:parameter:runAsUser}",
                    }
                }
            ],
        },
        indent=2,
    )


MANAGED_TEMPLATES: tuple[ManagedTemplate, ...] = (
    ManagedTemplate(
        "AWS-Download-File",
        "1.0",
        "Downloads a file to the device.",
        _handler_document(
            "Download-File",
            "download-file.sh",
            ["${aws:iot:parameter:downloadUrl}", "${aws:iot:parameter:filePath}"],
        ),
        (
            Parameter(
                "downloadUrl",
                "The URL to download the file from.",
                "[^\\s]{1,1024}",
                "https://example.com/file.zip",
                False,
            ),
            Parameter(
                "filePath",
                "The path on the device to save the file to.",
                "[^\\s]{1,4096}",
                "/home/user/file.zip",
                False,
            ),
            _RUN_AS_USER,
            _PATH_TO_HANDLER,
        ),
    ),
    ManagedTemplate(
        "AWS-Install-Application",
        "1.0",
        "Installs one or more applications on the device.",
        _handler_document(
            "Install-Application", "install-packages.sh", ["${aws:iot:parameter:packages}"]
        ),
        (_PACKAGES, _RUN_AS_USER, _PATH_TO_HANDLER),
    ),
    ManagedTemplate(
        "AWS-Reboot",
        "1.0",
        "Reboots the device.",
        _handler_document("Reboot", "reboot.sh", []),
        (_RUN_AS_USER, _PATH_TO_HANDLER),
    ),
    ManagedTemplate(
        "AWS-Remove-Application",
        "1.0",
        "Uninstalls one or more applications from the device.",
        _handler_document(
            "Remove-Application", "remove-packages.sh", ["${aws:iot:parameter:packages}"]
        ),
        (_PACKAGES, _RUN_AS_USER, _PATH_TO_HANDLER),
    ),
    ManagedTemplate(
        "AWS-Restart-Application",
        "1.0",
        "Stops and restarts one or more services on the device.",
        _handler_document(
            "Restart-Application", "restart-services.sh", ["${aws:iot:parameter:services}"]
        ),
        (_SERVICES, _RUN_AS_USER, _PATH_TO_HANDLER),
    ),
    ManagedTemplate(
        "AWS-Run-Command",
        "1.0",
        "Runs a shell command on the device.",
        json.dumps(
            {
                "version": "1.0",
                "steps": [
                    {
                        "action": {
                            "name": "Run-Command",
                            "type": "runCommand",
                            "input": {"command": "${aws:iot:parameter:command}"},
                            "runAsUser": "${aws:iot:parameter:runAsUser}",
                        }
                    }
                ],
            },
            indent=2,
        ),
        (
            Parameter(
                "command",
                "A comma-separated list of the command and its arguments.",
                "[^\\n\\r]{1,4096}",
                "echo,Hello",
                False,
            ),
            _RUN_AS_USER,
        ),
    ),
    ManagedTemplate(
        "AWS-Start-Application",
        "1.0",
        "Starts one or more services on the device.",
        _handler_document(
            "Start-Application", "start-services.sh", ["${aws:iot:parameter:services}"]
        ),
        (_SERVICES, _RUN_AS_USER, _PATH_TO_HANDLER),
    ),
    ManagedTemplate(
        "AWS-Stop-Application",
        "1.0",
        "Stops one or more services on the device.",
        _handler_document(
            "Stop-Application", "stop-services.sh", ["${aws:iot:parameter:services}"]
        ),
        (_SERVICES, _RUN_AS_USER, _PATH_TO_HANDLER),
    ),
)
# "<name>:<version>" -> template, in name then version order.
MANAGED_INDEX: SortedIndex[ManagedTemplate] = SortedIndex()
for _template in MANAGED_TEMPLATES:
    MANAGED_INDEX[f"{_template.name}:{_template.version}"] = _template


def managed_template_arn(region: str, template: ManagedTemplate) -> str:
    """Managed templates belong to no account: `arn:aws:iot:<region>::jobtemplate/<n>:<v>`."""
    return f"arn:{partition(region)}:iot:{region}::jobtemplate/{template.name}:{template.version}"


def find_managed_template(name: str, version: str | None) -> ManagedTemplate:
    """A managed template by name and version (default: its latest version)."""
    if version is not None:
        found = MANAGED_INDEX.get(f"{name}:{version}")
    else:
        found = None
        for key, template in MANAGED_INDEX.items_after(f"{name}:"):
            if not key.startswith(f"{name}:"):
                break
            found = template
    if found is None:
        shown = f"{name}:{version}" if version else name
        raise not_found(f"Managed job template {shown} cannot be found.")
    return found


def _fill_parameters(template: ManagedTemplate, given: dict[str, str]) -> str:
    """The template's document with the parameters substituted, each checked against its
    regex; required ones must be given and unknown ones are refused."""
    known = {p.key: p for p in template.parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise invalid_request(
            f"Unknown documentParameters for managed template {template.name}: "
            f"{', '.join(unknown)}. Valid parameters: {', '.join(known)}."
        )
    for parameter in template.parameters:
        value = given.get(parameter.key)
        if value is None:
            if not parameter.optional:
                raise invalid_request(
                    f"The documentParameters of managed template {template.name} must include "
                    f"{parameter.key}."
                )
            continue
        if not parameter.compiled.fullmatch(value):
            raise invalid_request(
                f"Value '{value}' of documentParameters {parameter.key} does not match the "
                f"required pattern {parameter.regex}."
            )
    return model.substitute_parameters(template.document, given)


# --------------------------------------------------------------------------- resolution


@dataclass(slots=True)
class ResolvedTemplate:
    """What CreateJob takes from a job template."""

    document: str | None
    raw_document: str | None
    document_source: str | None
    config: dict[str, Any]


_MANAGED_ARN = re.compile(r"arn:[^:]+:iot:[^:]*::jobtemplate/([^:/]+):([^:/]+)")
_CUSTOM_ARN = re.compile(r"arn:[^:]+:iot:([^:]*):([0-9]+):jobtemplate/([a-zA-Z0-9_-]+)")


def resolve_job_template(
    ctx: RequestContext, arn: str, parameters: dict[str, str] | None
) -> ResolvedTemplate:
    managed = _MANAGED_ARN.fullmatch(arn)
    if managed is not None:
        template = find_managed_template(managed.group(1), managed.group(2))
        document = _fill_parameters(template, parameters or {})
        return ResolvedTemplate(document, template.document, None, {})
    custom = _CUSTOM_ARN.fullmatch(arn)
    if custom is None:
        raise invalid_request(f"{arn} is not a valid job template ARN.")
    if parameters:
        raise invalid_request(
            "documentParameters can only be used with AWS managed job templates, not with "
            f"the custom job template {arn}."
        )
    backend = ctx.backend
    if custom.group(1) != backend.region or custom.group(2) != backend.account_id:
        raise not_found(f"Job template {arn} cannot be found.")
    own = get_template(backend, custom.group(3))
    config = {k: v for k, v in own.config.items() if k != "maintenanceWindows"}
    return ResolvedTemplate(own.document, own.document, own.document_source, config)


def get_template(backend: Backend, template_id: str) -> model.JobTemplate:
    template = backend.store(model.JobsStore).templates.get(template_id)
    if template is None:
        raise not_found(f"Job template {template_id} cannot be found.")
    return template


# --------------------------------------------------------------------------- custom templates


_JOB_ARN = re.compile(r"arn:[^:]+:iot:([^:]*):([0-9]+):job/([a-zA-Z0-9_-]+)")


def _job_of_arn(ctx: RequestContext, arn: str) -> model.Job:
    match = _JOB_ARN.fullmatch(arn)
    if match is None:
        raise invalid_request(f"{arn} is not a valid job ARN.")
    if match.group(1) != ctx.backend.region or match.group(2) != ctx.backend.account_id:
        raise not_found(f"Job {arn} cannot be found.")
    return model.get_job(model.jobs_store(ctx), match.group(3))


@operation("iot", "CreateJobTemplate")
def create_job_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = model.jobs_store(ctx)
    template_id = params["jobTemplateId"]
    arn = backend.arn(f"jobtemplate/{template_id}")
    sources = [m for m in ("jobArn", "document", "documentSource") if params.get(m)]
    if len(sources) != 1:
        raise invalid_request(
            f"Specify exactly one of jobArn, document or documentSource; {len(sources)} were given."
        )
    if template_id in store.templates:
        raise ServiceError("ConflictException", f"Job template {template_id} already exists.")
    model.check_timeout_config(params.get("timeoutConfig"))
    document = params.get("document")
    document_source = params.get("documentSource")
    config: dict[str, Any] = {}
    if params.get("jobArn"):
        job = _job_of_arn(ctx, params["jobArn"])
        document, document_source = job.document, job.document_source
        config = {k: v for k, v in job.config.items() if k in TEMPLATE_CONFIG}
    config.update({m: params[m] for m in TEMPLATE_CONFIG if params.get(m) is not None})
    tag_on_create(backend, arn, params.get("tags"))  # may refuse the tags: first
    store.templates[template_id] = model.JobTemplate(
        template_id=template_id,
        arn=arn,
        description=params["description"],
        created_at=clock.now(),
        document=document,
        document_source=document_source,
        config=config,
    )
    return {"jobTemplateArn": arn, "jobTemplateId": template_id}


@operation("iot", "DescribeJobTemplate")
def describe_job_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["jobTemplateId"])
    return {
        "jobTemplateArn": template.arn,
        "jobTemplateId": template.template_id,
        "description": template.description,
        "documentSource": template.document_source,
        "document": template.document,
        "createdAt": template.created_at,
        **{member: template.config.get(member) for member in TEMPLATE_CONFIG},
    }


@operation("iot", "ListJobTemplates")
def list_job_templates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, token = page_of("ListJobTemplates", model.jobs_store(ctx).templates, params)
    return {
        "jobTemplates": [
            {
                "jobTemplateArn": t.arn,
                "jobTemplateId": t.template_id,
                "description": t.description,
                "createdAt": t.created_at,
            }
            for t in page
        ],
        "nextToken": token,
    }


@operation("iot", "DeleteJobTemplate")
def delete_job_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["jobTemplateId"])
    model.jobs_store(ctx).templates.pop(template.template_id)
    drop(ctx.backend, template.arn)
    return {}


# --------------------------------------------------------------------------- managed templates


@operation("iot", "DescribeManagedJobTemplate")
def describe_managed_job_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = find_managed_template(params["templateName"], params.get("templateVersion"))
    return {
        "templateName": template.name,
        "templateArn": managed_template_arn(ctx.region, template),
        "description": template.description,
        "templateVersion": template.version,
        "environments": list(template.environments),
        "documentParameters": [
            {
                "key": p.key,
                "description": p.description,
                "regex": p.regex,
                "example": p.example,
                "optional": p.optional,
            }
            for p in template.parameters
        ],
        "document": template.document,
    }


@operation("iot", "ListManagedJobTemplates")
def list_managed_job_templates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params.get("templateName")
    if name is not None:
        find_managed_template(name, None)  # 404 for an unknown name
    page, token = page_of(
        f"ListManagedJobTemplates:{name}",
        MANAGED_INDEX,
        params,
        keep=(lambda t: t.name == name) if name is not None else None,
    )
    return {
        "managedJobTemplates": [
            {
                "templateArn": managed_template_arn(ctx.region, t),
                "templateName": t.name,
                "description": t.description,
                "environments": list(t.environments),
                "templateVersion": t.version,
            }
            for t in page
        ],
        "nextToken": token,
    }
