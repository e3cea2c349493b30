// Evaluate IAM requests with @cloud-copilot/iam-simulate, an implementation of AWS's policy
// evaluation logic (conditions, wildcards, resource policies). Reads a JSON array of
// simulations on stdin, writes one result per simulation on stdout:
//   in:  [{identityPolicies: [policy...], resourcePolicy?: policy, principal, action,
//          resource, accountId, context: {key: value},
//          serviceControlPolicies?: [[policy...] per level, the root first, the account last],
//          permissionBoundaries?: [policy...]}]
//   out: [{result: "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied", errors?: ...}]
const { runSimulation } = require('@cloud-copilot/iam-simulate');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const out = [];
  for (const sim of input) {
    const simulation = {
      identityPolicies: (sim.identityPolicies || []).map((policy, i) => ({ name: `identity${i}`, policy })),
      // AWS Organizations: at each level (root, OUs, the account) some SCP must allow, and
      // none deny. No levels: the account is in no organization.
      serviceControlPolicies: (sim.serviceControlPolicies || []).map((level, i) => ({
        orgIdentifier: `level${i}`,
        policies: level.map((policy, j) => ({ name: `scp${i}-${j}`, policy })),
      })),
      resourceControlPolicies: [],
      request: {
        principal: sim.principal,
        action: sim.action,
        resource: { resource: sim.resource, accountId: sim.accountId },
        contextVariables: sim.context || {},
      },
    };
    if (sim.resourcePolicy) simulation.resourcePolicy = sim.resourcePolicy;
    if (sim.permissionBoundaries) {
      simulation.permissionBoundaryPolicies = sim.permissionBoundaries.map((policy, i) => ({ name: `boundary${i}`, policy }));
    }
    const r = await runSimulation(simulation, {});
    out.push(r.resultType === 'error' ? { result: 'Error', errors: r.errors } : { result: r.overallResult });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
