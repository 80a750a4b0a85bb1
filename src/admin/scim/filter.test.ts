import { test } from 'node:test';
import assert from 'node:assert/strict';
import SCIMMY from 'scimmy';
import { applyFilter, parseFilter } from './filter.ts';

const USER = SCIMMY.Schemas.User.definition;
const GROUP = SCIMMY.Schemas.Group.definition;

const users = [
  { id: 'usr_A', userName: 'Ann.Lee@Acme.example', externalId: '00uAnn', active: true, displayName: 'Ann Lee', emails: [{ value: 'Ann.Lee@acme.example', type: 'work', primary: true }] },
  { id: 'usr_B', userName: 'bob@acme.example', externalId: '00uBob', active: false, name: { givenName: 'Bob' } },
  { id: 'usr_C', userName: 'carol@globex.example', active: true },
];

function select(filter: string, resources: readonly object[] = users, definition = USER): string[] {
  return applyFilter(parseFilter(filter, definition), resources, definition).map((r) => (r as { id: string }).id);
}

test('filters as identity providers send them', () => {
  assert.deepEqual(select('userName eq "ann.lee@acme.example"'), ['usr_A']);
  assert.deepEqual(select('externalId eq "00uBob"'), ['usr_B']);
  assert.deepEqual(select('emails[type eq "work" and value co "lee@"]'), ['usr_A']);
  assert.deepEqual(select('emails.value sw "ANN"'), ['usr_A']);
  assert.deepEqual(select('userName sw "b" or userName ew "globex.example"'), ['usr_B', 'usr_C']);
  assert.deepEqual(select('active eq true and externalId pr'), ['usr_A']);
  assert.deepEqual(select('displayName co "lee"'), ['usr_A']);
  assert.deepEqual(select('name.givenName eq "bob"'), ['usr_B']);
});

test('externalId and id compare exactly: the schema says caseExact', () => {
  assert.deepEqual(select('externalId eq "00uann"'), []);
  assert.deepEqual(select('id eq "usr_a"'), []);
  assert.deepEqual(select('id eq "usr_A"'), ['usr_A']);
});

test('group filters: displayName ignoring case, members by value', () => {
  const groups = [
    { id: 'grp_1', displayName: 'Engineering', members: [{ value: 'usr_A' }] },
    { id: 'grp_2', displayName: 'Sales' },
  ];
  assert.deepEqual(select('displayName eq "engineering"', groups, GROUP), ['grp_1']);
  assert.deepEqual(select('members[value eq "usr_A"]', groups, GROUP), ['grp_1']);
});

test('malformed filters and unknown attributes are refused with invalidFilter', () => {
  for (const bad of ['userName eq', 'userName eq "x" and', 'userName zz "x"', '(userName eq "x"', 'bogus eq "x"', 'emails[bogus eq "x"]', 'name.nickname eq "x"', 'userName pr "x"', '']) {
    assert.throws(
      () => parseFilter(bad, USER),
      (err: unknown) => err instanceof SCIMMY.Types.Error && err.status === 400 && err.scimType === 'invalidFilter',
      bad,
    );
  }
});
