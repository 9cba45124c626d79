"""Jobs: jobs and executions and their state machine, job templates, the iot-jobs-data
service and the MQTT jobs API."""
