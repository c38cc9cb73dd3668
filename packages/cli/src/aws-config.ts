/**
 * Adds or updates one key of one section of an AWS config file (INI), leaving every other byte as
 * it was: other sections, comments, blank lines, the line endings in use. Pure, so it is tested
 * on its own; `configure-aws` reads and writes the file around it.
 */
export function upsertConfigKey(text: string, section: string, key: string, value: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.split('\n');
  const line = `${key} = ${value}`;
  const start = lines.findIndex((candidate) => sectionName(candidate) === section);
  if (start === -1) {
    const prefix = text === '' ? '' : text.endsWith('\n') ? (/\S/.test(lines.at(-2) ?? '') ? eol : '') : eol + eol;
    return `${text}${prefix}[${section}]${eol}${line}${eol}`;
  }
  let end = lines.findIndex((candidate, index) => index > start && sectionName(candidate) !== undefined);
  if (end === -1) end = lines.length;
  const keyPattern = new RegExp(`^${key}\\s*=`);
  const existing = lines.findIndex((candidate, index) => index > start && index < end && keyPattern.test(candidate));
  if (existing !== -1) {
    lines[existing] = lines[existing]!.endsWith('\r') ? `${line}\r` : line;
    return lines.join('\n');
  }
  // After the section's last setting, before any blank lines or comments that lead to the next one.
  let at = start;
  for (let index = start + 1; index < end; index += 1) if (/^\s*[^\s#;]/.test(lines[index]!)) at = index;
  lines.splice(at + 1, 0, eol === '\r\n' ? `${line}\r` : line);
  return lines.join('\n');
}

/** `[profile x]` → `profile x` (inner spaces normalised); undefined when the line is not a section header. */
function sectionName(line: string): string | undefined {
  const match = /^\s*\[([^\]]+)\]\s*(?:[#;].*)?\r?$/.exec(line);
  return match === null ? undefined : match[1]!.trim().replace(/\s+/g, ' ');
}

/** The section of an AWS CLI profile: `default` is `[default]`, any other name `[profile name]`. */
export const profileSection = (name: string) => (name === 'default' ? 'default' : `profile ${name}`);
