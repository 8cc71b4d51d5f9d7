// Installs the local servers the tests and the demo start, once: the Apache Kafka jars (Maven Central), moto's IAM
// API (PyPI, into .tools/venv) and Apicurio Registry (Maven Central, built into .tools/apicurio). `.ci/run` calls it
// so that a failed install is named before any test runs.
import { ensureKafkaJars } from '../src/kafka/local-broker.js';
import { ensureMoto } from '../src/sim/local-iam.js';
import { ensureApicurio } from '../test/helpers/schema-registry.js';

const say = (line: string) => console.log(line);
ensureKafkaJars(say);
ensureMoto(say);
ensureApicurio(say);
