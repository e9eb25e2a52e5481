import { describe, expect, test } from '@jest/globals';
import {
  formFields,
  formParameter,
  hasFormParameter,
  isFormRequest,
  readFormBody,
} from './form-body.js';
import { MalformedRequestError, type OAuth2HttpRequest } from './http-request.js';
import { thrownAs } from '../../test/support/thrown.js';

const FORM = 'application/x-www-form-urlencoded';
const NOT_FORM = 'The request body must be application/x-www-form-urlencoded';
const NOT_AN_OBJECT = 'The request body could not be read as a form';

function request(contentType: string | string[] | undefined, body?: unknown): OAuth2HttpRequest {
  return { method: 'POST', headers: { 'content-type': contentType }, body };
}

describe('isFormRequest (RFC 6749 §3.2)', () => {
  test.each([
    FORM,
    'application/x-www-form-urlencoded; charset=UTF-8',
    'Application/X-WWW-Form-Urlencoded',
    'application/x-www-form-urlencoded ;charset=utf-8',
    'application/x-www-form-urlencoded\t; q=1',
    'application/x-www-form-urlencoded;',
  ])('%j is a form', (contentType) => {
    expect(isFormRequest(request(contentType))).toBe(true);
  });

  test.each([
    ['application/json'],
    ['multipart/form-data; boundary=x'],
    ['application/x-www-form-urlencodedx'],
    ['text/application/x-www-form-urlencoded'],
    [' application/x-www-form-urlencoded'],
    [''],
    [undefined],
    [[FORM]],
  ])('%j is not', (contentType) => {
    expect(isFormRequest(request(contentType))).toBe(false);
  });
});

describe('readFormBody', () => {
  test('returns the parsed body of a form request', () => {
    const body = { grant_type: 'client_credentials' };
    expect(readFormBody(request(FORM, body))).toBe(body);
  });

  test.each([undefined, null])('a form request without a body (%j) reads as empty', (body) => {
    expect(readFormBody(request(FORM, body))).toEqual({});
  });

  test.each([
    ['application/json', { grant_type: 'client_credentials' }],
    ['text/plain', 'grant_type=client_credentials'],
    [undefined, undefined],
  ])('RFC 6749 §3.2: content type %j → 400', (contentType, body) => {
    const error = thrownAs(MalformedRequestError, () => readFormBody(request(contentType, body)));
    expect(error.message).toBe(NOT_FORM);
    expect(error.status).toBe(400);
  });

  test.each([
    ['a string', 'grant_type=client_credentials'],
    ['an array', ['grant_type']],
    ['a number', 42],
  ])('a form body that is %s → 400', (_name, body) => {
    const error = thrownAs(MalformedRequestError, () => readFormBody(request(FORM, body)));
    expect(error.message).toBe(NOT_AN_OBJECT);
    expect(error.status).toBe(400);
  });
});

describe('formFields', () => {
  test('the fields of a form request', () => {
    const body = { client_id: 'id' };
    expect(formFields(request(FORM, body))).toBe(body);
    expect(formFields(request(FORM))).toEqual({});
  });

  test('not a form request → undefined, whatever the body', () => {
    expect(formFields(request('application/json', { client_id: 'id' }))).toBeUndefined();
    expect(formFields(request(undefined, 'junk'))).toBeUndefined();
  });

  test('a form request with a body that is not an object → 400', () => {
    expect(
      thrownAs(MalformedRequestError, () => formFields(request(FORM, 'client_id=id'))).message,
    ).toBe(NOT_AN_OBJECT);
    expect(
      thrownAs(MalformedRequestError, () => formFields(request(FORM, ['client_id']))).message,
    ).toBe(NOT_AN_OBJECT);
  });
});

describe('formParameter', () => {
  test('a defined parameter is its string value', () => {
    expect(formParameter({ scope: 'a b' }, 'scope')).toBe('a b');
  });

  test('an absent parameter is undefined', () => {
    expect(formParameter({ scope: 'a' }, 'grant_type')).toBeUndefined();
  });

  test('RFC 6749 §3.1: a parameter sent without a value is treated as omitted', () => {
    expect(formParameter({ scope: '' }, 'scope')).toBeUndefined();
  });

  test('a value of spaces is a value', () => {
    expect(formParameter({ scope: ' ' }, 'scope')).toBe(' ');
  });

  test.each([
    ['repeated (an array)', ['a', 'b']],
    ['bracketed (an object)', { x: 'a' }],
    ['an empty array', []],
    ['a number', 1],
    ['null', null],
    ['undefined (own property)', undefined],
  ])('RFC 6749 §3.1: a parameter %s → 400', (_name, value) => {
    const error = thrownAs(MalformedRequestError, () => formParameter({ scope: value }, 'scope'));
    expect(error.message).toBe('The scope parameter is repeated or malformed');
    expect(error.status).toBe(400);
  });

  test('inherited properties are not parameters', () => {
    const body = Object.create({ scope: 'admin' }) as Record<string, unknown>;
    expect(formParameter(body, 'scope')).toBeUndefined();
    expect(formParameter({}, 'toString')).toBeUndefined();
  });
});

describe('hasFormParameter', () => {
  test('a parameter with a value is there', () => {
    expect(hasFormParameter({ client_id: 'id' }, 'client_id')).toBe(true);
  });

  test('a repeated or malformed parameter is there too (what the request carries)', () => {
    expect(hasFormParameter({ client_id: ['a', 'b'] }, 'client_id')).toBe(true);
    expect(hasFormParameter({ client_id: { x: 'a' } }, 'client_id')).toBe(true);
  });

  test('an empty value counts as absent', () => {
    expect(hasFormParameter({ client_id: '' }, 'client_id')).toBe(false);
  });

  test('absent, inherited, or no form at all → false', () => {
    expect(hasFormParameter({}, 'client_id')).toBe(false);
    expect(hasFormParameter(Object.create({ client_id: 'id' }), 'client_id')).toBe(false);
    expect(hasFormParameter(undefined, 'client_id')).toBe(false);
  });
});
