/** The authenticated principal behind one command, and what the deployment's group config makes of it. */
export interface Caller {
  id: string;
  kind: 'person' | 'service';
  email: string | null;
  displayName: string;
  groups: string[];
  /** Authentication methods from the token's `amr` claim; empty for API keys, which never prove MFA. */
  amr: string[];
  via: 'oidc' | 'api-key' | 'slack';
  isAdmin: boolean;
  isAuditor: boolean;
  sourceIp: string | null;
}

export interface RoleGroups {
  adminGroups: readonly string[];
  auditorGroups: readonly string[];
}

export function rolesOf(groups: readonly string[], config: RoleGroups): { isAdmin: boolean; isAuditor: boolean } {
  return {
    isAdmin: groups.some((g) => config.adminGroups.includes(g)),
    isAuditor: groups.some((g) => config.auditorGroups.includes(g)),
  };
}

export function hasMfa(caller: Pick<Caller, 'amr' | 'via'>): boolean {
  return caller.via === 'oidc' && caller.amr.includes('mfa');
}
