/**
 * How the Worker and the objects reach an object: always by name. A channel
 * object knows its channel from `ctx.id.name`, which only named ids carry,
 * and a fan-out object checks it was attached to under its own name; so no
 * caller may address an object another way.
 */
export function objectNamed<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  name: string,
  /** Where to create the object if it does not exist yet (fan-out objects go near their subscribers). */
  locationHint?: DurableObjectLocationHint | null,
): DurableObjectStub<T> {
  return namespace.get(namespace.idFromName(name), locationHint ? { locationHint } : {});
}
