/**
 * The Cedar schema every organisation's policies are validated against when saved (strict mode), and the names the
 * data path gives its entities. README "Policies (Cedar)" shows it to administrators.
 *
 *   principal  Gatehouse::Key::"<key id>"   (an OAuth token: "oauth:<issuer>:<client>"), in its Role and its User
 *   action     Gatehouse::Action::"<MCP method>"  ("tools/call", "prompts/get", "resources/read", ...)
 *   resource   Gatehouse::Tool::"<connector>/<tool>", Gatehouse::Prompt::"<connector>/<prompt>",
 *              Gatehouse::Resource::"<connector>/<uri>"; each in its Gatehouse::Connector::"<connector>"
 *   context    arguments (an entity whose tags are the call's top-level arguments: strings as sent, any other value as
 *              its JSON text), argumentNames, clientIp (absent when unknown), now (Unix seconds), hourUtc, weekdayUtc
 *              (0 = Sunday), protocolVersion
 *
 * Groups are in the schema (users may be placed in them) but the gateway does not yet put users in groups.
 */
export const POLICY_NAMESPACE = 'Gatehouse';

export const POLICY_SCHEMA = `namespace Gatehouse {
  entity Role, Group, Connector;
  entity User in [Group];
  entity Key in [Role, User] { name: String, role: String };
  entity Arguments tags String;
  entity Tool in [Connector] { name: String, connector: String };
  entity Prompt in [Connector] { name: String, connector: String };
  entity Resource in [Connector] { uri: String, connector: String };
  type RequestContext = {
    arguments: Arguments,
    argumentNames: Set<String>,
    clientIp?: ipaddr,
    now: Long,
    hourUtc: Long,
    weekdayUtc: Long,
    protocolVersion: String,
  };
  action "tools/call" appliesTo { principal: Key, resource: Tool, context: RequestContext };
  action "prompts/get" appliesTo { principal: Key, resource: Prompt, context: RequestContext };
  action "resources/read", "resources/subscribe", "resources/unsubscribe" appliesTo { principal: Key, resource: Resource, context: RequestContext };
  action "completion/complete" appliesTo { principal: Key, resource: [Prompt, Resource], context: RequestContext };
}
`;

/** The methods the schema has actions for: every method that resolves to a target. */
export const POLICY_ACTIONS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
]);
