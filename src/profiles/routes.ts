import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../deps.js';
import { errorResponses } from '../http/schemas.js';
import { createProfile, deleteProfile, getProfile, listProfiles, updateProfile } from './manage-profiles.js';
import { CreateProfileBody, Profile, ProfileList, UpdateProfileBody } from './schemas.js';
import { profileView } from './view.js';
import { Type } from 'typebox';

const tags = ['profiles'];
const ProfileParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Profile id or name' }) });

export function profileRoutes(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'policyAnalyzer'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/profiles',
      {
        schema: {
          operationId: 'createProfile',
          summary: 'Add a profile to the access catalog (admin)',
          tags,
          body: CreateProfileBody,
          response: { 201: Profile, ...errorResponses(409) },
        },
      },
      async (request, reply) => reply.status(201).send(profileView(await createProfile(deps, request.caller, request.body))),
    );

    app.get(
      '/profiles',
      {
        schema: {
          operationId: 'listProfiles',
          summary: 'The catalog: all profiles for admins, the ones the caller may request otherwise',
          tags,
          response: { 200: ProfileList, ...errorResponses() },
        },
      },
      async (request) => ({ items: (await listProfiles(deps, request.caller)).map(profileView), nextCursor: null }),
    );

    app.get(
      '/profiles/:id',
      {
        schema: {
          operationId: 'getProfile',
          summary: 'One profile at its current version (admins, its requesters and approvers)',
          tags,
          params: ProfileParams,
          response: { 200: Profile, ...errorResponses() },
        },
      },
      async (request) => profileView(await getProfile(deps, request.caller, request.params.id)),
    );

    app.patch(
      '/profiles/:id',
      {
        schema: {
          operationId: 'updateProfile',
          summary: 'Change a profile: makes a new version (admin)',
          tags,
          params: ProfileParams,
          body: UpdateProfileBody,
          response: { 200: Profile, ...errorResponses(409) },
        },
      },
      async (request) => profileView(await updateProfile(deps, request.caller, request.params.id, request.body)),
    );

    app.delete(
      '/profiles/:id',
      {
        schema: {
          operationId: 'deleteProfile',
          summary: 'Remove a profile from the catalog; its versions stay for history (admin)',
          tags,
          params: ProfileParams,
          response: { 204: Type.Null(), ...errorResponses() },
        },
      },
      async (request, reply) => {
        await deleteProfile(deps, request.caller, request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
