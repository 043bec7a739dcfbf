// The admin API's routes, served by endpoint_ui next to this page.

export class APIError extends Error {
  constructor(status, data) {
    super((data && data.error) || 'HTTP ' + status);
    this.status = status;
    this.details = (data && Array.isArray(data.details)) ? data.details : [];
    this.data = data;
  }
}

// base is the UI's own location, without credentials or fragment, so that
// relative API paths resolve under the handler's prefix.
function url(path) {
  const u = new URL(path, location.href);
  u.username = '';
  u.password = '';
  u.hash = '';
  return u.toString();
}

export async function call(method, path, body, headers = {}) {
  const init = {method, headers: {Accept: 'application/json', ...headers}, credentials: 'same-origin', cache: 'no-store'};
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path), init);
  } catch (e) {
    throw new APIError(0, {error: 'the server could not be reached: ' + e.message});
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = {error: text.trim()}; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return {data, etag: res.headers.get('ETag'), status: res.status};
}

export const get = (path) => call('GET', path);
export const enc = encodeURIComponent;
