import { describe, expect, test } from '@jest/globals';
import { Reflector } from '@nestjs/core';
import { OAUTH2_SCOPES_METADATA, Scopes } from './scopes.decorator.js';

describe('@Scopes()', () => {
  test.each([
    ['with a space inside (two tokens in one argument)', 'reports:read reports:write'],
    ['with a leading space', ' reports:read'],
    ['that is empty', ''],
    ['with a double quote', 'reports:"read"'],
    ['with a backslash', 'reports\\read'],
    ['with a tab', 'reports\tread'],
    ['with a character outside ASCII', 'réports'],
  ])('a scope %s is a TypeError when the decorator is built', (_name, scope) => {
    const build = () => Scopes('reports:read', scope);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(
      `@Scopes(): ${JSON.stringify(scope)} is not an RFC 6749 §3.3 scope token`,
    );
  });

  test('the TypeError comes at decoration time, when the class is defined', () => {
    expect(() => {
      class Decorated {
        @Scopes('reports:"read"')
        route() {}
      }
      return Decorated;
    }).toThrow(TypeError);
  });

  test('RFC 6749 §3.3 scope tokens are accepted and stored as metadata on a class and a method', () => {
    // Every character class the grammar allows: %x21 / %x23-5B / %x5D-7E.
    const edge = '!#[]^~';

    @Scopes('reports:read')
    class Decorated {
      @Scopes('reports:write', edge)
      route() {}

      @Scopes()
      open() {}
    }

    const reflector = new Reflector();
    expect(reflector.get(OAUTH2_SCOPES_METADATA, Decorated)).toEqual(['reports:read']);
    expect(reflector.get(OAUTH2_SCOPES_METADATA, Decorated.prototype.route)).toEqual([
      'reports:write',
      edge,
    ]);
    expect(reflector.get(OAUTH2_SCOPES_METADATA, Decorated.prototype.open)).toEqual([]);
  });
});
