/** The canonical event every decoder produces and every detector reads. Schema: schemas/audit-event.avsc. */
export type Verb = 'read' | 'create' | 'update' | 'delete' | 'other';
export type PrincipalKind = 'human' | 'service' | 'unknown';
export type Outcome = 'success' | 'failure';

export const VERBS: readonly Verb[] = ['read', 'create', 'update', 'delete', 'other'];
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['human', 'service', 'unknown'];
export const OUTCOMES: readonly Outcome[] = ['success', 'failure'];

export interface AuditEvent {
  /** Unique per call at the source (CloudTrail eventID, Kubernetes auditID). */
  id: string;
  /** Event time, epoch milliseconds. All detection runs on this clock. */
  time: number;
  principal: { id: string; kind: PrincipalKind };
  /** The raw action name at the source, e.g. DeleteLoadBalancer or delete. */
  action: string;
  verb: Verb;
  resource: { type: string; id: string };
  environment: string;
  /** The system that produced the record: cloudtrail, kubernetes, or whatever a canonical producer says. */
  source: string;
  outcome: Outcome;
  changeTicket: string | null;
  /** Objects the call addressed: TerminateInstances with 60 ids is 60. Detectors count successful calls only. */
  objectCount: number;
  /**
   * Bytes of data a read returned, where the record says (CloudTrail's additionalEventData.bytesTransferredOut, a
   * canonical producer's bytesOut); absent otherwise. bulk-read scores it next to the objects read.
   */
  bytesOut?: number;
}
