// Deploy-time settings. Each is a firebase-functions param, resolved at deploy (or emulator start) and
// documented in README. Runtime settings that admins edit live in Firestore instead (see config/schemas).
import { defineString } from 'firebase-functions/params';

export const REGION = defineString('REGION', {
  default: 'europe-west1',
  description: 'Region of every fireops function (one region per deployment).',
});
