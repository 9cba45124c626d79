// Drives the iotmock server with the AWS SDK for JavaScript v3. The endpoint comes from
// AWS_ENDPOINT_URL_IOT* (set by the test), exactly as for any Node service under test.
// Prints one JSON document of what it saw; the Python test asserts on it.
import {
  IoTClient,
  CreateThingCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateJobCommand,
  DescribeJobExecutionCommand,
  DescribeThingCommand,
  ListAttachedPoliciesCommand,
} from "@aws-sdk/client-iot";
import {
  IoTDataPlaneClient,
  UpdateThingShadowCommand,
  GetThingShadowCommand,
} from "@aws-sdk/client-iot-data-plane";
import {
  IoTJobsDataPlaneClient,
  StartNextPendingJobExecutionCommand,
  UpdateJobExecutionCommand,
} from "@aws-sdk/client-iot-jobs-data-plane";

const iot = new IoTClient({});
const data = new IoTDataPlaneClient({});
const jobs = new IoTJobsDataPlaneClient({});
const thingName = process.argv[2] ?? "node-device";
const out = {};

const thing = await iot.send(new CreateThingCommand({ thingName }));
out.thingArn = thing.thingArn;
const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
out.certificateArn = cert.certificateArn;
await iot.send(
  new CreatePolicyCommand({
    policyName: `${thingName}-policy`,
    policyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "iot:Connect", Resource: "*" }],
    }),
  }),
);
await iot.send(
  new AttachPolicyCommand({ policyName: `${thingName}-policy`, target: cert.certificateArn }),
);
await iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn }));
const attached = await iot.send(new ListAttachedPoliciesCommand({ target: cert.certificateArn }));
out.policies = attached.policies.map((p) => p.policyName);

await data.send(
  new UpdateThingShadowCommand({
    thingName,
    payload: new TextEncoder().encode(JSON.stringify({ state: { reported: { temp: 21 } } })),
  }),
);
const shadow = await data.send(new GetThingShadowCommand({ thingName }));
out.shadow = JSON.parse(new TextDecoder().decode(shadow.payload));

await iot.send(
  new CreateJobCommand({
    jobId: `${thingName}-job`,
    targets: [thing.thingArn],
    document: JSON.stringify({ step: "reboot" }),
  }),
);
const next = await jobs.send(new StartNextPendingJobExecutionCommand({ thingName }));
out.startedStatus = next.execution.status;
await jobs.send(
  new UpdateJobExecutionCommand({ thingName, jobId: `${thingName}-job`, status: "SUCCEEDED" }),
);
const execution = await iot.send(
  new DescribeJobExecutionCommand({ thingName, jobId: `${thingName}-job` }),
);
out.finalStatus = execution.execution.status;

try {
  await iot.send(new DescribeThingCommand({ thingName: "missing" }));
  out.missing = "no error";
} catch (error) {
  out.missing = error.name;
}
console.log(JSON.stringify(out));
