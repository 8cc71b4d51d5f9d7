// Writes schemas/control-record.schema.json from the zod schema every reader of the control topic validates with.
// `npm run schemas`; test/unit/control-log.test.ts fails when the file and the code disagree.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlRecordJsonSchema } from '../src/actions/control-record.js';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';

writeFileSync(join(PROJECT_ROOT, 'schemas', 'control-record.schema.json'), `${JSON.stringify(controlRecordJsonSchema(), null, 2)}\n`);
