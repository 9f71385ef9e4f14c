// What the console knows about the logged-in agent and the current call, shared by the pages.

export const session = {
  agent: null,        // the Agent object of docs/api.md, or null when logged out
};

export function isAdmin() {
  return !!session.agent && session.agent.role === 'administrator';
}

export function mayEditCentral() {
  return !!session.agent && (isAdmin() || !!session.agent.may_edit_central_list);
}

export function hasCallModule() {
  return !!session.agent && (isAdmin() || !!session.agent.call_module);
}

// The last screen pop: {call, customer, notes, unknown} or null. Kept while the agent looks elsewhere.
export const current = {
  pop: null,
};
