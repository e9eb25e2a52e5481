import { Controller, Get, NotFoundException, type Type } from '@nestjs/common';
import { OAuth2Public } from '../resource/oauth2-public.decorator.js';
import {
  OAuth2ResourceServerConfig,
  type OAuth2ProtectedResourceMetadata,
} from './oauth2-resource-server-config.js';

/**
 * RFC 9728 §3: the protected resource metadata document, public (an app-wide OAuth2Guard passes it by). A
 * 404 while `resourceMetadata` is unset: an async factory decides that after the routes are fixed.
 */
@OAuth2Public()
@Controller()
export class ProtectedResourceMetadataController {
  constructor(private readonly config: OAuth2ResourceServerConfig) {}

  @Get()
  metadata(): OAuth2ProtectedResourceMetadata {
    if (this.config.resourceMetadata === undefined) throw new NotFoundException();
    return this.config.resourceMetadata;
  }
}

/** The controller at the module's `resourceMetadataPath`. */
export function createProtectedResourceMetadataController(
  path: string,
): Type<ProtectedResourceMetadataController> {
  @Controller(path)
  class ConfiguredProtectedResourceMetadataController extends ProtectedResourceMetadataController {}
  // Nest names the class in its route log.
  Object.defineProperty(ConfiguredProtectedResourceMetadataController, 'name', {
    value: ProtectedResourceMetadataController.name,
  });
  return ConfiguredProtectedResourceMetadataController;
}
